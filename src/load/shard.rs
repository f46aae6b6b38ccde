//! Sharding: this process's part of a plan split over N generator processes (issue 4).

/// This process's part of a sharded plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u32,
    /// Number of shards.
    pub total: u32,
}

impl Shard {
    /// The whole plan.
    pub const WHOLE: Shard = Shard { index: 0, total: 1 };

    /// Parses `i/N` (0 <= i < N).
    pub fn parse(text: &str) -> Option<Shard> {
        let (i, n) = text.split_once('/')?;
        let (index, total) = (i.parse().ok()?, n.parse().ok()?);
        (total > 0 && index < total).then_some(Shard { index, total })
    }

    /// This shard's share of `count` items and the number of items in earlier shards.
    pub fn share(self, count: u32) -> (u32, u32) {
        let (base, extra) = (count / self.total, count % self.total);
        let mine = base + u32::from(self.index < extra);
        let before = base * self.index + self.index.min(extra);
        (mine, before)
    }
}
