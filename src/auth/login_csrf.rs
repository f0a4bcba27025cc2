//! The pre-login double-submit token of the sign-in, forgotten-password and reset forms.
//!
//! The form carries a random token; the `hl_login` cookie carries the same token with the
//! time it was issued and `HMAC-SHA256(server secret, "login-csrf:" token "." issued)`. A form
//! is accepted only when its token matches a cookie the server signed within
//! [`MAX_AGE_SECS`], so a cookie planted by someone else (from a sibling subdomain, say) whose
//! value they chose fails. See docs/hardening.md, "Sign-in and staff limits".

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use super::session::{LOGIN_CSRF_COOKIE, read_cookie};
use crate::privacy::keys::{Secrets, hmac_hex, same};

/// How long a signed pre-login cookie is accepted.
pub const MAX_AGE_SECS: i64 = 12 * 3600;
/// How far in the future an issue time may lie (clocks of several instances differ a little).
const CLOCK_SKEW_SECS: i64 = 300;

const PURPOSE: &str = "login-csrf";

fn signature(secrets: &Secrets, token: &str, issued: i64) -> String {
    hmac_hex(secrets.server(), PURPOSE, &format!("{token}.{issued}"))
}

/// A new token and the cookie value that vouches for it.
pub fn issue(secrets: &Secrets, now: DateTime<Utc>) -> (String, String) {
    let token = super::random_token();
    let issued = now.timestamp();
    let cookie = format!("{token}.{issued}.{}", signature(secrets, &token, issued));
    (token, cookie)
}

/// The token of a cookie value the server signed and that has not expired.
pub fn verify(secrets: &Secrets, cookie: &str, now: DateTime<Utc>) -> Option<String> {
    let mut parts = cookie.split('.');
    let (token, issued, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || token.len() != 64
        || !token.bytes().all(|b| b.is_ascii_hexdigit())
        || !issued.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let issued: i64 = issued.parse().ok()?;
    let age = now.timestamp() - issued;
    if !(-CLOCK_SKEW_SECS..=MAX_AGE_SECS).contains(&age) {
        return None;
    }
    same(&signature(secrets, token, issued), sig).then(|| token.to_string())
}

/// The token to put in a form and the cookie value to (re)set: the request's own when it is
/// valid, else a new pair.
pub fn for_form(secrets: &Secrets, headers: &HeaderMap, now: DateTime<Utc>) -> (String, String) {
    read_cookie(headers, LOGIN_CSRF_COOKIE)
        .and_then(|c| verify(secrets, &c, now).map(|t| (t, c)))
        .unwrap_or_else(|| issue(secrets, now))
}

/// The token of a submitted form when it matches the request's signed cookie.
pub fn check(
    secrets: &Secrets,
    headers: &HeaderMap,
    sent: Option<&str>,
    now: DateTime<Utc>,
) -> Option<String> {
    let token = verify(secrets, &read_cookie(headers, LOGIN_CSRF_COOKIE)?, now)?;
    super::same_secret(&token, sent?).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("{LOGIN_CSRF_COOKIE}={v}")).unwrap(),
        );
        h
    }

    #[test]
    fn only_signed_fresh_cookies_vouch_for_a_token() {
        let s = Secrets::from_secret(vec![3; 32]);
        let now = Utc::now();
        let (token, cookie) = issue(&s, now);
        assert_eq!(verify(&s, &cookie, now).as_deref(), Some(token.as_str()));
        let h = with_cookie(&cookie);
        assert_eq!(check(&s, &h, Some(&token), now), Some(token.clone()));
        assert_eq!(check(&s, &h, Some(&"0".repeat(64)), now), None);
        assert_eq!(check(&s, &h, None, now), None);
        // The form reuses a valid cookie.
        assert_eq!(for_form(&s, &h, now), (token.clone(), cookie.clone()));
        // Planted: a bare token (the old format), a wrong signature, another server's.
        let planted = "a".repeat(64);
        assert_eq!(check(&s, &with_cookie(&planted), Some(&planted), now), None);
        let (t2, c2) = issue(&Secrets::from_secret(vec![4; 32]), now);
        assert_eq!(check(&s, &with_cookie(&c2), Some(&t2), now), None);
        let forged = format!("{planted}.{}.{}", now.timestamp(), "0".repeat(64));
        assert_eq!(verify(&s, &forged, now), None);
        // Expired, and issued in the future.
        let late = now + chrono::Duration::seconds(MAX_AGE_SECS + 1);
        assert_eq!(verify(&s, &cookie, late), None);
        assert_ne!(for_form(&s, &h, late).0, token);
        let early = now - chrono::Duration::seconds(CLOCK_SKEW_SECS + 1);
        assert_eq!(verify(&s, &cookie, early), None);
        let junk = [
            String::new(),
            "x.y.z".into(),
            format!("{token}.-5.{}", "0".repeat(64)),
            format!("{cookie}.x"),
        ];
        for j in &junk {
            assert_eq!(verify(&s, j, now), None, "{j}");
        }
    }
}
