//! Staff authentication: argon2id passwords, server-side sessions, CSRF tokens, role scopes,
//! the login rate limit and API tokens.

pub mod lockout;
pub mod login_csrf;
pub mod password;
pub mod scope;
pub mod session;

pub use scope::Scope;

use sha2::{Digest, Sha256};

/// 32 random bytes as 64 hex characters: session ids, CSRF tokens, API tokens.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// SHA-256 as hex: how session ids and API tokens are stored (they are 256-bit random, so a
/// fast hash is enough; only passwords need argon2).
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Constant-time comparison of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
