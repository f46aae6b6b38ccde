//! The host clock load payloads are stamped with (issue 13).
//!
//! A payload's `t` is its intended send instant in microseconds on the
//! host's `CLOCK_MONOTONIC`. On Linux every process of one host reads the
//! same monotonic clock, so a shard can time a message another shard on the
//! same host sent. Each process takes one (`Instant`, monotonic) pair at its
//! start and converts through it both ways; std's `Instant` reads the same
//! clock, so the pair does not drift. A process on another host (a
//! Kubernetes pod on another machine) has another clock: the payload's host
//! tag tells the receiver so, and it accounts the delivery without timing it.
//! Time namespaces (rarely used by containers) would offset the clock per
//! namespace while keeping the host tag; they are not supported.

use tokio::time::Instant;

/// One process's view of the host clock: an `Instant` and the host's
/// monotonic clock at that instant, and the host's tag.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HostClock {
    epoch: Instant,
    epoch_us: u64,
    /// A hash of the host's boot id; 0 when it cannot be read.
    pub(crate) host: u32,
}

impl HostClock {
    /// The pair taken now, and this host's tag.
    pub(crate) fn now() -> HostClock {
        let epoch = Instant::now();
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let epoch_us = u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000
            + u64::try_from(ts.tv_nsec).unwrap_or(0) / 1_000;
        HostClock {
            epoch,
            epoch_us,
            host: host_tag(),
        }
    }

    /// A clock from a known pair (tests).
    #[cfg(test)]
    fn at(epoch: Instant, epoch_us: u64, host: u32) -> HostClock {
        HostClock {
            epoch,
            epoch_us,
            host,
        }
    }

    /// `at` on the host clock, in microseconds.
    pub(crate) fn micros(&self, at: Instant) -> u64 {
        match at.checked_duration_since(self.epoch) {
            Some(d) => self.epoch_us + d.as_micros() as u64,
            None => self
                .epoch_us
                .saturating_sub(self.epoch.duration_since(at).as_micros() as u64),
        }
    }

    /// Microseconds from host instant `t` to `now`; 0 when `t` is later.
    pub(crate) fn since(&self, t: u64, now: Instant) -> u64 {
        self.micros(now).saturating_sub(t)
    }

    /// Whether a payload stamped on host `host` can be timed here: the
    /// same host, known (a process of this run on a host whose boot id
    /// cannot be read is not assumed to share the clock).
    pub(crate) fn shares(&self, host: u32) -> bool {
        host == self.host && host != 0
    }
}

/// FNV-1a of `/proc/sys/kernel/random/boot_id` (one value per boot of a
/// Linux kernel, the same in every process and container on it); 0 when
/// it cannot be read.
fn host_tag() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map_or(0, |id| fnv1a(id.trim()))
}

fn fnv1a(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    // 0 means unknown.
    h.max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn two_processes_on_one_host_convert_through_their_own_pairs() {
        // Process A took its pair when the host clock read 5 s, process B
        // when it read 7 s; B's epoch is 2 s after A's.
        let a_epoch = Instant::now();
        let b_epoch = a_epoch + Duration::from_secs(2);
        let a = HostClock::at(a_epoch, 5_000_000, 42);
        let b = HostClock::at(b_epoch, 7_000_000, 42);
        // A stamps an intended send 3 s after its epoch (host 8 s).
        let t = a.micros(a_epoch + Duration::from_secs(3));
        assert_eq!(t, 8_000_000);
        // B receives it 1.5 s after its epoch (host 8.5 s): 500 ms late.
        let now = b_epoch + Duration::from_millis(1_500);
        assert_eq!(b.since(t, now), 500_000);
        // Instants before the epoch convert too.
        assert_eq!(b.micros(a_epoch), 5_000_000);
        assert_eq!(b.since(9_000_000, now), 0, "a stamp in the future");
    }

    #[test]
    fn the_host_clock_follows_instant() {
        let c = HostClock::now();
        let later = Instant::now() + Duration::from_millis(250);
        let d = c.micros(later) - c.micros(c.epoch);
        assert_eq!(d, (later - c.epoch).as_micros() as u64);
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let host_now = ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000;
        let ours = c.micros(Instant::now());
        assert!(host_now.abs_diff(ours) < 50_000, "{host_now} vs {ours}");
    }

    #[test]
    fn host_tags_say_which_payloads_can_be_timed() {
        let c = HostClock::at(Instant::now(), 0, 7);
        assert!(c.shares(7));
        assert!(!c.shares(8), "another host");
        let unknown = HostClock::at(Instant::now(), 0, 0);
        assert!(!unknown.shares(0), "an unreadable boot id is not a match");
        assert_ne!(fnv1a("a"), fnv1a("b"));
        assert_ne!(host_tag(), 0, "Linux has a boot id");
    }
}
