//! A load run folder: `load.json` and one HdrHistogram interval log per
//! stage (`hdr/<stage>.hlog`, microseconds), written and read back with the
//! histograms (so shard folders can be merged).

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

use super::result::{LoadResult, LoggedInterval, SCHEMA_VERSION};
use crate::metrics::Metric;

/// Writes `load.json` and `hdr/<metric>.hlog` of `r` into `dir`.
pub fn write_dir(r: &LoadResult, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("hdr"))?;
    let json = serde_json::to_string_pretty(r).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("load.json"), json)?;
    let start = UNIX_EPOCH + Duration::from_millis(r.run.started_unix_ms);
    for m in Metric::ALL {
        let mut out = Vec::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder
            .add_comment(&format!(
                "pushcheck {} stage {} (values in microseconds)",
                r.run.scenario,
                m.as_str()
            ))
            .with_start_time(start)
            .with_base_time(start);
        let mut serializer = V2DeflateSerializer::new();
        let mut writer = builder.begin_log_with(&mut out, &mut serializer)?;
        for l in r.logs.iter().filter(|l| l.metric == m) {
            if let Some(h) = l.decode() {
                writer
                    .write_histogram(&h, l.start, l.duration, Tag::new(m.as_str()))
                    .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
            }
        }
        std::fs::write(dir.join("hdr").join(format!("{}.hlog", m.as_str())), out)?;
    }
    Ok(())
}

/// Reads a folder written by [`write_dir`], histograms included.
pub fn read_dir(dir: &Path) -> std::io::Result<LoadResult> {
    let text = std::fs::read_to_string(dir.join("load.json"))?;
    let mut r: LoadResult = serde_json::from_str(&text).map_err(std::io::Error::other)?;
    if r.schema_version != SCHEMA_VERSION {
        return Err(std::io::Error::other(format!(
            "{}: schema_version {} is not {SCHEMA_VERSION}",
            dir.display(),
            r.schema_version
        )));
    }
    for m in Metric::ALL {
        let path = dir.join("hdr").join(format!("{}.hlog", m.as_str()));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        for entry in IntervalLogIterator::new(&bytes) {
            let Ok(LogEntry::Interval(i)) = entry else {
                continue;
            };
            let engine = base64::engine::general_purpose::STANDARD;
            let raw = base64::Engine::decode(&engine, i.encoded_histogram())
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            let h: Histogram<u64> = Deserializer::new()
                .deserialize(&mut raw.as_slice())
                .map_err(|e| std::io::Error::other(format!("{}: {e:?}", path.display())))?;
            r.histograms.add_to(m, &h);
            r.logs.push(LoggedInterval::encode(
                m,
                i.start_timestamp(),
                i.duration(),
                &h,
            ));
        }
    }
    Ok(r)
}
