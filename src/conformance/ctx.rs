//! Ctx: what a case gets: the target, fresh connections, unique channel names,
//! a REST client, the webhook sink, and the wait deadline.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Failure, HarnessError};
use crate::client::journal::Journal;
use crate::client::{ProtocolClient, RestClient, WebhookSink};
use crate::target::{AppEntry, Credentials, Target};
use crate::wire::ChannelKind;

/// Shared, read-only state of one run against one target.
#[derive(Debug)]
pub struct Env {
    /// The target.
    pub target: Target,
    /// The webhook sink, when the target sends webhooks to the harness.
    pub sink: Option<Arc<WebhookSink>>,
    /// Whether slow cases run.
    pub slow: bool,
    /// Wait deadline of every `expect_*`.
    pub timeout: Duration,
}

/// A fresh per-case context (cheap to clone).
#[derive(Debug, Clone)]
pub struct Ctx {
    env: Arc<Env>,
    credentials: Arc<Credentials>,
    journal: Arc<Journal>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl Ctx {
    /// A context for the main app of `env`'s target.
    pub fn new(env: Arc<Env>) -> Ctx {
        Ctx::with_journal(env, Journal::new())
    }

    fn with_journal(env: Arc<Env>, journal: Arc<Journal>) -> Ctx {
        let credentials = Arc::new(env.target.credentials.clone());
        Ctx {
            env,
            credentials,
            journal,
        }
    }

    /// What this case sent and received so far.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// How long absence checks keep listening after their sentinel.
    pub fn settle(&self) -> Duration {
        self.target().profile.settle()
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.env.target
    }

    /// The wait deadline.
    pub fn timeout(&self) -> Duration {
        self.env.timeout
    }

    /// A random hex suffix (std's randomly keyed hasher; no RNG crate needed).
    pub fn random_suffix(&self) -> String {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        format!("{:012x}", RandomState::new().hash_one(n) & 0xffff_ffff_ffff)
    }

    /// A channel name of `kind` that no other case uses.
    pub fn unique_channel(&self, kind: ChannelKind) -> String {
        format!("{}pc-{}", kind.prefix(), self.random_suffix())
    }

    /// Opens a fresh connection to the main app and expects
    /// `connection_established`. This is a setup step: a refusal is a
    /// harness error of the case ([`HarnessError::Setup`]), not a failure of
    /// the requirement it checks (connection cases check the handshake
    /// themselves).
    pub async fn connect(&self) -> Result<ProtocolClient, Failure> {
        self.connect_as(self.credentials.clone())
            .await
            .map_err(|f| match f {
                Failure::Violation { expected, actual } => Failure::Harness(HarnessError::Setup {
                    step: "connect",
                    expected,
                    actual,
                }),
                other => other,
            })
    }

    /// Opens a fresh connection to another app.
    pub async fn connect_as(
        &self,
        credentials: Arc<Credentials>,
    ) -> Result<ProtocolClient, Failure> {
        let url = self.target().ws_url(&credentials.key, "");
        let tls = &self.target().tls;
        let journal = Some(self.journal.clone());
        let c = ProtocolClient::connect_journaled(&url, credentials, self.timeout(), tls, journal);
        Ok(c.await?)
    }

    /// This context on node `index` of the target (same journal, sink and
    /// credentials): its connections and REST calls go to that node.
    pub fn on_node(&self, index: usize) -> Result<Ctx, Failure> {
        let nodes = self.target().nodes();
        let node = nodes.get(index).ok_or(Failure::NotApplicable(
            "n/a: the target lists too few nodes ([[nodes]] in the profile)",
        ))?;
        let target = self
            .target()
            .on_node(node)
            .map_err(|e| Failure::Harness(HarnessError::Node(Box::new(e))))?;
        let env = Env {
            target,
            sink: self.env.sink.clone(),
            slow: self.env.slow,
            timeout: self.env.timeout,
        };
        Ok(Ctx {
            env: Arc::new(env),
            credentials: self.credentials.clone(),
            journal: self.journal.clone(),
        })
    }

    /// A REST client signing for the main app.
    pub fn rest(&self) -> RestClient {
        self.rest_as((*self.credentials).clone())
    }

    /// A REST client signing for another app.
    pub fn rest_as(&self, credentials: Credentials) -> RestClient {
        let target = self.target();
        RestClient::with_tls(&target.rest_base, credentials, self.timeout(), &target.tls)
            .with_journal(self.journal.clone())
    }

    /// The webhook sink, or N/A when the target sends no webhooks to the harness.
    pub fn sink(&self) -> Result<&WebhookSink, Failure> {
        match (&self.env.sink, self.target().profile.features.webhooks) {
            (Some(sink), true) => Ok(sink),
            _ => Err(Failure::NotApplicable(
                "n/a: the profile enables no webhooks to the harness sink",
            )),
        }
    }

    /// Not applicable unless the feature is on.
    pub fn require(&self, enabled: bool, reason: &'static str) -> Result<(), Failure> {
        if enabled {
            Ok(())
        } else {
            Err(Failure::NotApplicable(reason))
        }
    }

    /// A further app from the profile, or N/A.
    pub fn app(&self, role: &str) -> Result<&AppEntry, Failure> {
        self.target()
            .profile
            .app(role)
            .ok_or(Failure::NotApplicable(
                "n/a: the profile lists no app for this role",
            ))
    }

    /// A context on the target for slow cases, or Skip without `--slow`.
    pub fn slow(&self) -> Result<(Ctx, &crate::target::SlowSetup), Failure> {
        let setup = self.target().slow.as_ref().filter(|_| self.env.slow);
        let setup = setup.ok_or(Failure::Skip("slow case: run with --slow"))?;
        let env = Env {
            target: (*setup.target).clone(),
            sink: None,
            slow: false,
            timeout: self.timeout(),
        };
        Ok((
            Ctx::with_journal(Arc::new(env), self.journal.clone()),
            setup,
        ))
    }
}
