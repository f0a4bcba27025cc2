//! A strict `application/x-www-form-urlencoded` decoder: invalid UTF-8 is an error instead of
//! being replaced silently.

use percent_encoding::percent_decode;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FormDecodeError {
    #[error("the form data is not valid UTF-8")]
    InvalidUtf8,
    #[error("the form has too many fields")]
    TooManyFields,
}

/// Decodes a form body into (name, value) pairs, in order.
pub fn decode(body: &[u8]) -> Result<Vec<(String, String)>, FormDecodeError> {
    let mut out = Vec::new();
    for part in body.split(|&b| b == b'&') {
        if part.is_empty() {
            continue;
        }
        if out.len() >= 200 {
            return Err(FormDecodeError::TooManyFields);
        }
        let (k, v) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &[][..]),
        };
        out.push((decode_component(k)?, decode_component(v)?));
    }
    Ok(out)
}

fn decode_component(raw: &[u8]) -> Result<String, FormDecodeError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus).collect();
    String::from_utf8(bytes).map_err(|_| FormDecodeError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_vietnamese_and_plus() {
        let pairs = decode(b"comment=C%C3%B4ng+an+ph%C6%B0%E1%BB%9Dng&a1=5&empty=&flag").unwrap();
        assert_eq!(pairs[0], ("comment".into(), "Công an phường".into()));
        assert_eq!(pairs[1], ("a1".into(), "5".into()));
        assert_eq!(pairs[2], ("empty".into(), "".into()));
        assert_eq!(pairs[3], ("flag".into(), "".into()));
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(decode(b"comment=%FF%FE"), Err(FormDecodeError::InvalidUtf8));
        assert_eq!(decode(b"comment=\xff"), Err(FormDecodeError::InvalidUtf8));
    }
}
