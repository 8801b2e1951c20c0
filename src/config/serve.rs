//! `[serve]`: where `latina serve` listens and which environment variable
//! holds the token a studio LAN must present (the server itself is
//! `crate::web`).

use serde::{Deserialize, Serialize};

/// `[serve]`: the address and port of the rating page, and the name of the
/// environment variable that holds its access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on; anything but a loopback address serves
    /// the LAN and then requires a token and each designer's name.
    pub bind: String,
    /// The TCP port; 0 lets the system choose (the URL is printed).
    pub port: u16,
    /// The environment variable that holds the LAN access token; when it is
    /// unset, a fresh token is generated and printed once at start.
    pub token_env: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            bind: "127.0.0.1".into(),
            port: 8421,
            token_env: "LATINA_SERVE_TOKEN".into(),
        }
    }
}
