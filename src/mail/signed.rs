//! Signed links in e-mails: `payload.signature`, the signature being
//! `HMAC-SHA256(server secret, purpose ":" payload)` cut to 128 bits. Payloads are made of
//! digits, letters and `-`, so a token sits in a URL path as it is.

use crate::privacy::keys::{hmac_hex, same};

/// `payload.signature` for `purpose`.
pub fn sign(secret: &[u8], purpose: &str, payload: &str) -> String {
    let sig = hmac_hex(secret, purpose, payload);
    format!("{payload}.{}", &sig[..32])
}

/// The payload of a token signed for `purpose`; `None` when forged or malformed.
pub fn verify(secret: &[u8], purpose: &str, token: &str) -> Option<String> {
    let (payload, sig) = token.rsplit_once('.')?;
    if payload.is_empty()
        || payload.len() > 200
        || !payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    let expected = hmac_hex(secret, purpose, payload);
    same(&expected[..32], sig).then(|| payload.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_purpose_and_key() {
        let t = sign(b"k1", "followup", "42");
        assert_eq!(verify(b"k1", "followup", &t).as_deref(), Some("42"));
        assert!(verify(b"k1", "unsubscribe", &t).is_none());
        assert!(verify(b"k2", "followup", &t).is_none());
        assert!(verify(b"k1", "followup", "43.00").is_none());
        assert!(verify(b"k1", "followup", "nonsense").is_none());
    }
}
