//! Interned text: the strings a million host records repeat (a ring id, a site, an OS, a
//! hardware model, a patch id, an error code) held once and shared, so a host keeps a
//! pointer to each instead of its own copy.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, LazyLock, Mutex};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One shared copy of a repeated string. Two equal values are the same allocation, so
/// cloning is a reference count and comparing usually a pointer.
#[derive(Clone)]
pub struct Interned(Arc<str>);

/// Every value in use, and the size at which values no record holds are dropped.
struct Pool {
    values: HashSet<Arc<str>>,
    sweep_at: usize,
}

/// The pool is swept (values only it still holds dropped) when it has doubled since the
/// last sweep, so a long-running gateway's pool stays within twice what is in use.
const FIRST_SWEEP: usize = 4096;

static POOL: LazyLock<Mutex<Pool>> = LazyLock::new(|| {
    Mutex::new(Pool {
        values: HashSet::new(),
        sweep_at: FIRST_SWEEP,
    })
});

impl Interned {
    pub fn new(value: &str) -> Interned {
        // A poisoned pool still holds whole values: take it as it is.
        let mut pool = POOL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = pool.values.get(value) {
            return Interned(Arc::clone(shared));
        }
        if pool.values.len() >= pool.sweep_at {
            pool.values.retain(|v| Arc::strong_count(v) > 1);
            pool.sweep_at = (pool.values.len() * 2).max(FIRST_SWEEP);
        }
        let shared: Arc<str> = Arc::from(value);
        pool.values.insert(Arc::clone(&shared));
        Interned(shared)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Interned {
    fn default() -> Interned {
        Interned::new("")
    }
}

impl Deref for Interned {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Interned {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Interned {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Interned {
    fn eq(&self, other: &Interned) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl Eq for Interned {}

impl std::hash::Hash for Interned {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialOrd for Interned {
    fn partial_cmp(&self, other: &Interned) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Interned {
    fn cmp(&self, other: &Interned) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialEq<str> for Interned {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Interned {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Interned {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Interned> for String {
    fn eq(&self, other: &Interned) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Interned> for str {
    fn eq(&self, other: &Interned) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Interned> for &str {
    fn eq(&self, other: &Interned) -> bool {
        **self == *other.0
    }
}

impl From<&str> for Interned {
    fn from(value: &str) -> Interned {
        Interned::new(value)
    }
}

impl From<&String> for Interned {
    fn from(value: &String) -> Interned {
        Interned::new(value)
    }
}

impl From<String> for Interned {
    fn from(value: String) -> Interned {
        Interned::new(&value)
    }
}

impl From<Interned> for String {
    fn from(value: Interned) -> String {
        value.0.to_string()
    }
}

impl fmt::Debug for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Interned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl Serialize for Interned {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Interned {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Interned, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Interned;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Interned, E> {
                Ok(Interned::new(value))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_copy() {
        let a = Interned::new("Contoso Book 14 G3");
        let b: Interned = String::from("Contoso Book 14 G3").into();
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, b);
        assert_eq!(a, "Contoso Book 14 G3");
        assert_ne!(a, Interned::new("Contoso Book 14 G4"));
    }

    #[test]
    fn a_value_survives_a_sweep_while_held_and_round_trips_as_a_plain_string() {
        let held = Interned::new("kept-through-the-sweep");
        for n in 0..(FIRST_SWEEP * 3) {
            let _ = Interned::new(&format!("passing-{n}"));
        }
        let again = Interned::new("kept-through-the-sweep");
        assert!(Arc::ptr_eq(&held.0, &again.0));
        let json = serde_json::to_string(&held).unwrap();
        assert_eq!(json, "\"kept-through-the-sweep\"");
        let back: Interned = serde_json::from_str(&json).unwrap();
        assert!(Arc::ptr_eq(&back.0, &held.0));
        assert!(serde_json::from_str::<Interned>("12").is_err());
    }
}
