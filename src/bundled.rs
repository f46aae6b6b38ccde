//! The bundled target: the reference server started in-process on
//! 127.0.0.1:0, configured so every case applies, plus a second server with
//! shortened timeouts for the slow cases.

pub mod cluster;
pub mod node;

use std::net::SocketAddr;
use std::time::Duration;

use reference_server::{AppConfig, Config, Server, WebhookTarget};

use crate::target::{AppEntry, Credentials, Features, Limits, Profile, SlowSetup, Target};

/// Presence member limit of the bundled main app (small, so the limit case is cheap).
pub const PRESENCE_LIMIT: usize = 5;
/// Connection quota of the bundled `limited` app.
pub const QUOTA: u32 = 2;

/// The running bundled servers. Dropping it shuts them down.
#[derive(Debug)]
pub struct Bundled {
    /// The main server.
    pub main: Server,
    /// The short-timeout server for slow cases.
    pub short: Server,
    /// The target describing both.
    pub target: Target,
}

fn app(id: &str, key: &str, secret: &str) -> AppConfig {
    AppConfig::new(id, key, secret)
}

/// The main server's config; `sink` receives its webhooks. Tests switch
/// faults on in the returned value.
pub fn main_config(sink: SocketAddr) -> Config {
    let mut config = Config::default();
    let mut main = app("app-id", "app-key", "app-secret");
    main.client_events = true;
    main.user_authentication = true;
    main.subscription_count = true;
    main.watchlist = true;
    main.max_presence_members = PRESENCE_LIMIT;
    main.webhooks = vec![WebhookTarget {
        url: format!("http://{sink}/webhooks"),
        events: None,
    }];
    let mut disabled = app("disabled-id", "disabled-key", "disabled-secret");
    disabled.enabled = false;
    let mut limited = app("limited-id", "limited-key", "limited-secret");
    limited.max_connections = Some(QUOTA);
    let mut quiet = app("quiet-id", "quiet-key", "quiet-secret");
    quiet.client_events = false;
    config.apps = vec![
        main,
        app("other-id", "other-key", "other-secret"),
        disabled,
        limited,
        quiet,
    ];
    config.webhooks.vacate_delay_ms = 0;
    // Wide enough that the cache-miss case's five subscribes share one batch,
    // where the server de-duplicates cache_miss (spec 10.1).
    config.webhooks.batch_window_ms = 100;
    config.webhooks.retry_initial_ms = 100;
    config
}

/// The short-timeout server's config (activity 400 ms, pong 400 ms, REST window 2 s, cache TTL 500 ms).
pub fn short_config(sink: SocketAddr) -> Config {
    let mut config = Config::default();
    let mut main = app("app-id", "app-key", "app-secret");
    main.cache_ttl_ms = 500;
    main.webhooks = vec![WebhookTarget {
        url: format!("http://{sink}/webhooks"),
        events: None,
    }];
    config.apps = vec![main];
    config.timeouts.activity_timeout_ms = 400;
    config.timeouts.pong_timeout_ms = 400;
    config.rest.timestamp_window_secs = 2;
    config.webhooks.vacate_delay_ms = 1500;
    config.webhooks.batch_window_ms = 5;
    config
}

/// The capability profile matching [`main_config`].
pub fn profile(sink: SocketAddr) -> Profile {
    let entry = |id: &str, key: &str, secret: &str, max: Option<u32>| AppEntry {
        id: id.into(),
        key: key.into(),
        secret: secret.into(),
        max_connections: max,
    };
    let mut p = Profile {
        features: Features {
            watchlist: true,
            subscription_count: true,
            webhooks: true,
            ..Features::default()
        },
        limits: Limits {
            max_presence_members: PRESENCE_LIMIT,
            ..Limits::default()
        },
        webhooks: Some(crate::target::WebhookConfig { sink }),
        ..Profile::default()
    };
    p.apps.insert(
        "other".into(),
        entry("other-id", "other-key", "other-secret", None),
    );
    p.apps.insert(
        "disabled".into(),
        entry("disabled-id", "disabled-key", "", None),
    );
    p.apps.insert(
        "limited".into(),
        entry("limited-id", "limited-key", "limited-secret", Some(QUOTA)),
    );
    p.apps.insert(
        "no_client_events".into(),
        entry("quiet-id", "quiet-key", "quiet-secret", None),
    );
    p
}

/// Starts one reference server in-process on 127.0.0.1:0 with `config`:
/// the only place the bundled server is started. The target it returns
/// uses the open servers' default app (`app-id` / `app-key` / `app-secret`),
/// which every config here and `Config::default()` define.
pub async fn serve(
    config: Config,
    name: &str,
    profile: Profile,
) -> std::io::Result<(Server, Target)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = Server::start(config, listener).await?;
    let creds = Credentials::new("app-id", "app-key", "app-secret");
    let url = format!("ws://{}", server.local_addr());
    let mut target =
        Target::new(name, &url, None, creds, profile).expect("a ws:// url built here is valid");
    target.bundled = true;
    Ok((server, target))
}

/// Starts both servers from the given configs and builds the target.
pub async fn start_with(main: Config, short: Config, sink: SocketAddr) -> std::io::Result<Bundled> {
    let (main, mut target) = serve(main, "reference", profile(sink)).await?;
    let (short, short_target) = serve(short, "short", Profile::default()).await?;
    target.slow = Some(SlowSetup {
        target: Box::new(short_target),
        timestamp_window: Duration::from_secs(2),
        activity_timeout: Duration::from_millis(400),
        pong_timeout: Duration::from_millis(400),
        cache_ttl: Some(Duration::from_millis(500)),
    });
    Ok(Bundled {
        main,
        short,
        target,
    })
}

/// Starts the bundled servers with the default configs.
pub async fn start_default(sink: SocketAddr) -> std::io::Result<Bundled> {
    start_with(main_config(sink), short_config(sink), sink).await
}
