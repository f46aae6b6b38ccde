//! `--preset NAME`: the servers users run, each a capability profile (the
//! TOML in `docs/targets/NAME.toml`, compiled in so docs and code cannot
//! drift) plus its documented defaults: where it listens and the app
//! credentials its quick start uses. `docs/targets/NAME.md` gives the launch
//! recipe. Flags still win: `--target`, `--key` and friends override the
//! preset's defaults, `--profile` replaces its profile.

use crate::target::{Profile, TargetError};

/// One known server.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// `--preset` value.
    pub name: &'static str,
    /// WebSocket base of the documented default setup.
    pub url: &'static str,
    /// App id of the documented default setup.
    pub app_id: &'static str,
    /// App key.
    pub key: &'static str,
    /// App secret.
    pub secret: &'static str,
    /// The capability profile (TOML).
    pub profile: &'static str,
}

/// Every preset, in the order `--help` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "sockudo",
        url: "ws://127.0.0.1:6001",
        app_id: "app-id",
        key: "app-key",
        secret: "app-secret",
        profile: include_str!("../../docs/targets/sockudo.toml"),
    },
    Preset {
        name: "soketi",
        url: "ws://127.0.0.1:6001",
        app_id: "app-id",
        key: "app-key",
        secret: "app-secret",
        profile: include_str!("../../docs/targets/soketi.toml"),
    },
    Preset {
        name: "reverb",
        url: "ws://127.0.0.1:8080",
        app_id: "my-app-id",
        key: "my-app-key",
        secret: "my-app-secret",
        profile: include_str!("../../docs/targets/reverb.toml"),
    },
    Preset {
        name: "laravel-websockets",
        url: "ws://127.0.0.1:6001",
        app_id: "app-id",
        key: "app-key",
        secret: "app-secret",
        profile: include_str!("../../docs/targets/laravel-websockets.toml"),
    },
    Preset {
        name: "poxa",
        url: "ws://127.0.0.1:8080",
        app_id: "app_id",
        key: "app_key",
        secret: "secret",
        profile: include_str!("../../docs/targets/poxa.toml"),
    },
    Preset {
        name: "reference-server",
        url: "ws://127.0.0.1:6001",
        app_id: "app-id",
        key: "app-key",
        secret: "app-secret",
        profile: include_str!("../../docs/targets/reference-server.toml"),
    },
];

/// The names `--preset` accepts.
pub(super) const NAMES: [&str; 6] = [
    "sockudo",
    "soketi",
    "reverb",
    "laravel-websockets",
    "poxa",
    "reference-server",
];

/// The preset called `name` (clap has checked it is one of [`NAMES`]).
pub(super) fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

impl Preset {
    /// The preset's capability profile.
    pub fn profile(&self) -> Result<Profile, TargetError> {
        Profile::from_toml(self.profile).map_err(|source| TargetError::ParseProfile {
            path: format!("docs/targets/{}.toml", self.name),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_is_named_and_documented() {
        assert_eq!(PRESETS.len(), NAMES.len());
        for (p, name) in PRESETS.iter().zip(NAMES) {
            assert_eq!(p.name, name);
            p.profile().unwrap_or_else(|e| panic!("{name}: {e}"));
            let doc = format!("{}/docs/targets/{name}.md", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert!(
                text.contains(&format!("--preset {name}")),
                "{doc} shows the flag"
            );
        }
    }

    #[test]
    fn the_reference_server_preset_turns_every_feature_on() {
        let p = find("reference-server")
            .expect("listed")
            .profile()
            .expect("parses");
        let f = &p.features;
        assert!(f.client_events && f.user_authentication && f.cache_channels);
        assert!(f.watchlist && f.subscription_count && f.webhooks);
        // The server config the recipe starts matches the profile.
        let config = reference_server::Config::from_toml_str(include_str!(
            "../../docs/targets/reference-server.config.toml"
        ))
        .expect("the recipe's config parses");
        let main = &config.apps[0];
        assert!(main.client_events && main.user_authentication);
        assert!(main.watchlist && main.subscription_count);
        assert_eq!(main.max_presence_members, p.limits.max_presence_members);
        assert!(
            main.webhooks[0]
                .url
                .contains(&p.webhooks.as_ref().expect("sink").sink.to_string())
        );
        for role in ["other", "disabled", "limited", "no_client_events"] {
            let entry = p.app(role).unwrap_or_else(|| panic!("{role}"));
            let app = config.apps.iter().find(|a| a.key == entry.key);
            let app = app.unwrap_or_else(|| panic!("{role}: {} in the config", entry.key));
            match role {
                "disabled" => assert!(!app.enabled),
                "limited" => assert_eq!(app.max_connections, entry.max_connections),
                "no_client_events" => assert!(!app.client_events),
                _ => assert!(app.enabled && app.id == entry.id),
            }
        }
    }
}
