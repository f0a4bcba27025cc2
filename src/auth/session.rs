//! What the staff console keeps for the life of the process: the session policy, a dummy password hash (so an unknown e-mail costs as much as a wrong password),
//! and how cookies are written.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::config::Config;
use crate::store::staff::SessionPolicy;

/// The session cookie.
pub const SESSION_COOKIE: &str = "hl_staff";
/// The pre-login CSRF cookie (double submit on the login form).
pub const LOGIN_CSRF_COOKIE: &str = "hl_login";

pub struct StaffRuntime {
    pub policy: SessionPolicy,
    pub dummy_hash: String,
    /// `Secure` on cookies when the base URL is https.
    pub secure: bool,
}

impl StaffRuntime {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let st = &config.staff;
        let dummy_hash =
            super::password::hash(&super::random_token()).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            policy: SessionPolicy {
                idle: chrono::Duration::minutes(i64::try_from(st.session_idle_minutes)?),
                absolute: chrono::Duration::hours(i64::try_from(st.session_absolute_hours)?),
            },
            dummy_hash,
            secure: config.base_url.starts_with("https://"),
        })
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, `Secure` over https.
    /// `max_age` `Some(0)` removes the cookie; `None` makes a browser-session cookie.
    pub fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if let Some(a) = max_age {
            c.push_str(&format!("; Max-Age={a}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).expect("cookie values are hex")
    }
}

/// The value of cookie `name` in the request headers.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}
