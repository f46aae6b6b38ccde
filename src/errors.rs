//! Errors printed for people: one line, the message and every cause.

/// The whole error on one line: the message and every cause, each once.
pub fn error_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
