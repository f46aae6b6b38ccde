//! `reference-server`: run the Pusher Channels reference server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use reference_server::Config;

/// A faithful Pusher Channels protocol 7 server (WebSocket, HTTP API, webhooks).
///
/// With no flags it serves ws://127.0.0.1:6001/app/app-key with one app:
/// id `app-id`, key `app-key`, secret `app-secret`, client events and user
/// authentication enabled. A TOML config file (--config) can define any number
/// of apps and every option; all fields are listed below.
#[derive(Debug, Parser)]
#[command(
    version,
    about,
    long_about,
    after_long_help = concat!("CONFIGURATION FILE (--config):\n\n", include_str!("../config.example.toml"))
)]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, default_value = "127.0.0.1:6001", env = "PUSHCHECK_SERVER_BIND")]
    bind: SocketAddr,
    /// TOML configuration file (apps, timeouts, transport, rest, webhooks, tls).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve wss:// and https:// with this certificate chain (PEM, leaf
    /// first); overrides [tls] in the config file.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    // Each connection is a file descriptor; the default soft limit (often
    // 1024) would cap the server far below what the machine allows.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("reference-server: cannot raise the open-files limit: {e}");
    }
    let config = match &args.config {
        Some(path) => match Config::read(path) {
            Ok(config) => config,
            Err(e) => {
                eprintln!("reference-server: {}", error_chain(&e));
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    let mut config = config;
    if let (Some(cert), Some(key)) = (args.tls_cert.clone(), args.tls_key.clone()) {
        config.tls = Some(reference_server::TlsSettings::new(cert, key));
    }
    if let Err(e) = config.validate() {
        eprintln!("reference-server: {}", error_chain(&e));
        return ExitCode::from(2);
    }
    if let Some(Err(e)) = config
        .tls
        .as_ref()
        .map(reference_server::TlsSettings::check)
    {
        eprintln!("reference-server: {}", error_chain(&e));
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("reference-server: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args.bind, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-server: {}", error_chain(&e));
            ExitCode::from(2)
        }
    }
}

async fn run(bind: SocketAddr, config: Config) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
    let addr = listener.local_addr()?;
    let (ws, http) = if config.tls.is_some() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    for app in &config.apps {
        println!(
            "reference-server listening on {ws}://{addr}/app/{} (app id {}), {http}://{addr}/apps/{}",
            app.key, app.id, app.id
        );
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    reference_server::serve(listener, config, shutdown).await
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
