//! Why a scenario is refused: errors that name the file, the field and why (issue 4).

use super::scenario::VERSION;

/// Why a scenario is refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {file}")]
    Read {
        /// Path.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for the format (unknown field, wrong type).
    /// The parser's message is part of this one, not a separate cause, so
    /// it is printed once.
    #[error("{file}: {error}")]
    Toml {
        /// Path.
        file: String,
        /// The parser's message, with line, column and the offending text.
        error: toml::de::Error,
    },
    /// A `--set` or `--duration` override that does not apply.
    #[error("override {text:?}: {why}")]
    Override {
        /// The override as given.
        text: String,
        /// Why it does not apply.
        why: OverrideProblem,
    },
    /// A value is out of its rules.
    #[error("{file}: {field}: {why}")]
    Invalid {
        /// Path.
        file: String,
        /// Dotted field path, such as `population[1].rate`.
        field: String,
        /// What is wrong.
        why: Invalid,
    },
}

/// Why an override does not apply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideProblem {
    /// Not `KEY=VALUE`.
    #[error("write KEY=VALUE, such as population.audience.count=500")]
    Syntax,
    /// A key this build does not override.
    #[error(
        "unknown key; overridable: run.duration, run.messages, run.drain, run.connect_timeout, run.max_schedule_lag, population.NAME.count, population.NAME.rate, population.NAME.ramp"
    )]
    UnknownKey,
    /// No population has this name.
    #[error("no population is named {name:?} (populations: {known})")]
    UnknownPopulation {
        /// The name given.
        name: String,
        /// The names there are.
        known: String,
    },
    /// The value does not parse for this key.
    #[error("{value:?} is not a {expected}")]
    Value {
        /// The value given.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// The behaviour has no such field (a subscriber has no rate).
    #[error("population {name:?} is a {behaviour}, which has no {field}")]
    NotApplicable {
        /// Population.
        name: String,
        /// Its behaviour.
        behaviour: &'static str,
        /// The field.
        field: &'static str,
    },
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    /// Unsupported format version.
    #[error("version {found} is not supported (this build reads version {VERSION})")]
    Version {
        /// Version in the file.
        found: u32,
    },
    /// A required field is absent.
    #[error("is required")]
    Missing,
    /// Two exclusive fields are both set.
    #[error("cannot be combined with {other}")]
    Exclusive {
        /// The other field.
        other: &'static str,
    },
    /// Not a duration.
    #[error("{text:?} is not a duration (write \"500ms\", \"10s\", \"2m\")")]
    Duration {
        /// The text.
        text: String,
    },
    /// A value outside its set of names.
    #[error("{value:?} is not one of {allowed}")]
    UnknownValue {
        /// The value.
        value: String,
        /// The allowed names.
        allowed: &'static str,
    },
    /// A reference to an undefined channel set or population.
    #[error("{name:?} is not defined in {section}")]
    Undefined {
        /// The name.
        name: String,
        /// Where it should be defined.
        section: &'static str,
    },
    /// A number out of range.
    #[error("{value} is out of range {min}..={max}: {reason}")]
    Range {
        /// The value.
        value: f64,
        /// Lowest allowed.
        min: f64,
        /// Highest allowed.
        max: f64,
        /// Why the range.
        reason: &'static str,
    },
    /// A name used twice.
    #[error("{name:?} is used twice")]
    Duplicate {
        /// The name.
        name: String,
    },
    /// A channel set of the wrong kind.
    #[error("set {set:?} is {kind}, but this needs {needs}")]
    Kind {
        /// Set name.
        set: String,
        /// Its kind.
        kind: &'static str,
        /// What is needed.
        needs: &'static str,
    },
    /// A field that does not apply to this behaviour.
    #[error("does not apply to behaviour {behaviour}")]
    NotApplicable {
        /// The behaviour.
        behaviour: &'static str,
    },
    /// A threshold on a stage or counter the plan never exercises: it
    /// could only ever be `no data` or vacuously true.
    #[error("{text:?} can never be judged: {why}")]
    Unexercised {
        /// The rule.
        text: String,
        /// Which part of the plan is missing.
        why: &'static str,
    },
    /// Something a run with shared channels cannot account exactly.
    #[error("cannot be used with run.shared_channels = true: {why}")]
    NotShared {
        /// Why not.
        why: &'static str,
    },
    /// A threshold that does not parse.
    #[error("{text:?}: {reason} (write \"deliver.p99 < 25ms\" or \"lost == 0\")")]
    Threshold {
        /// The rule.
        text: String,
        /// What is wrong.
        reason: &'static str,
    },
}
