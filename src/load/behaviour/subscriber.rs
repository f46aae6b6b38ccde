//! Subscribers: join `per_client` channels of their set (spread by id) and
//! listen; every delivery is accounted by the client's receive path.

use super::client::Client;
use crate::load::plan::SetId;
use crate::metrics::ErrorKind;

/// Subscribes to the client's channels and registers it as a recipient.
pub(super) async fn setup(c: &mut Client, set: SetId, per_client: u32) -> Result<(), ErrorKind> {
    let run = c.run.clone();
    let count = run.plan.channel_sets[set.0].count;
    for k in 0..per_client {
        let ch = run.set_offset[set.0] + (c.id * per_client + k) % count;
        c.subscribe(ch).await?;
        c.register(ch);
    }
    Ok(())
}
