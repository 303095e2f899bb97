//! API answers are untrusted text: every string in them is cleaned (escape sequences,
//! controls, bidi, format and invisible characters removed, see [`crate::text::clean`])
//! as it is decoded, so that no view, table or log line can show what a hostile or
//! broken server sent. One place, before anything else sees the data.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes JSON, cleaning every string (object keys included). A body of printable
/// ASCII without a backslash cannot hold anything to clean and is decoded directly.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
    {
        return serde_json::from_slice(bytes);
    }
    let mut value: Value = serde_json::from_slice(bytes)?;
    clean_strings(&mut value);
    serde_json::from_value(value)
}

fn clean_strings(value: &mut Value) {
    match value {
        Value::String(text) => {
            if let std::borrow::Cow::Owned(clean) = crate::text::clean(text) {
                *text = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_strings),
        Value::Object(map) => {
            let dirty = map
                .keys()
                .any(|key| matches!(crate::text::clean(key), std::borrow::Cow::Owned(_)));
            if dirty {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    clean_strings(&mut item);
                    map.insert(crate::text::clean(&key).into_owned(), item);
                }
            } else {
                map.values_mut().for_each(clean_strings);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Host;

    #[test]
    fn strings_in_answers_are_cleaned_wherever_they_are() {
        let value: Value = decode(
            br#"{"name": "web\u001b[2J\u001b(0-01", "list": ["a\u202eb", {"k\u200b": "\u009d0;x\u009cok"}]}"#,
        )
        .unwrap();
        assert_eq!(
            value,
            serde_json::json!({"name": "web-01", "list": ["ab", {"k": "ok"}]})
        );
    }

    #[test]
    fn plain_ascii_is_decoded_as_it_is() {
        let value: Value = decode(br#"{"name": "web-01", "n": 3}"#).unwrap();
        assert_eq!(value, serde_json::json!({"name": "web-01", "n": 3}));
        // Raw non-ASCII text is checked too.
        let value: Value = decode("{\"name\": \"we\u{202e}b\"}".as_bytes()).unwrap();
        assert_eq!(value, serde_json::json!({"name": "web"}));
        assert!(decode::<Host>(b"[1, 2").is_err());
    }
}
