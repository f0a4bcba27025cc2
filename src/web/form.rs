//! A strict `application/x-www-form-urlencoded` decoder: invalid UTF-8 is an error instead of
//! being replaced silently.

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FormDecodeError {
    #[error("the form data is not valid UTF-8")]
    InvalidUtf8,
    #[error("the form has too many fields")]
    TooManyFields,
}

/// Decodes a form body into (name, value) pairs, in order.
pub fn decode(body: &[u8]) -> Result<Vec<(String, String)>, FormDecodeError> {
    let fields = body.iter().filter(|&&b| b == b'&').count() + 1;
    let mut out = Vec::with_capacity(fields.min(MAX_FIELDS));
    for part in body.split(|&b| b == b'&') {
        if part.is_empty() {
            continue;
        }
        if out.len() >= MAX_FIELDS {
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

/// The most fields a form may have.
const MAX_FIELDS: usize = 200;

/// One name or value: `+` is a space, `%XX` a byte (a `%` not followed by two hex digits stays
/// as it is), and the result must be UTF-8.
fn decode_component(raw: &[u8]) -> Result<String, FormDecodeError> {
    // Most names and values need no decoding: one copy.
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| FormDecodeError::InvalidUtf8);
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = match raw[i] {
            b'+' => b' ',
            b'%' => match (raw.get(i + 1).and_then(hex), raw.get(i + 2).and_then(hex)) {
                (Some(h), Some(l)) => {
                    i += 2;
                    h << 4 | l
                }
                _ => b'%',
            },
            b => b,
        };
        bytes.push(b);
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| FormDecodeError::InvalidUtf8)
}

/// The value of a hex digit.
fn hex(b: &u8) -> Option<u8> {
    char::from(*b).to_digit(16).map(|d| d as u8)
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
    fn decodes_percent_signs_like_the_url_standard() {
        let pairs = decode(b"a=%41%62%2b+%2x%25%&c%3d=%e1%BB%99&=v&k=a=b&%2").unwrap();
        assert_eq!(pairs[0], ("a".into(), "Ab+ %2x%%".into()));
        assert_eq!(pairs[1], ("c=".into(), "ộ".into()));
        assert_eq!(pairs[2], ("".into(), "v".into()));
        assert_eq!(pairs[3], ("k".into(), "a=b".into()));
        assert_eq!(pairs[4], ("%2".into(), "".into()));
        assert_eq!(pairs.len(), 5);
    }

    #[test]
    fn refuses_more_than_200_fields() {
        assert_eq!(decode("a=1&".repeat(200).as_bytes()).unwrap().len(), 200);
        // Empty parts are not fields.
        assert_eq!(decode("&&a=1".repeat(200).as_bytes()).unwrap().len(), 200);
        assert_eq!(
            decode("a=1&".repeat(201).as_bytes()),
            Err(FormDecodeError::TooManyFields)
        );
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert_eq!(decode(b"comment=%FF%FE"), Err(FormDecodeError::InvalidUtf8));
        assert_eq!(decode(b"comment=\xff"), Err(FormDecodeError::InvalidUtf8));
        assert_eq!(decode(b"a+\xff=1"), Err(FormDecodeError::InvalidUtf8));
    }
}
