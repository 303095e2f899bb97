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
struct Pool<T: ?Sized> {
    values: HashSet<Arc<T>>,
    sweep_at: usize,
}

/// The pool is swept (values only it still holds dropped) when it has doubled since the
/// last sweep, so a long-running gateway's pool stays within twice what is in use.
const FIRST_SWEEP: usize = 4096;

impl<T: ?Sized + Eq + std::hash::Hash> Pool<T>
where
    for<'a> Arc<T>: From<&'a T>,
{
    fn new() -> Mutex<Pool<T>> {
        Mutex::new(Pool {
            values: HashSet::new(),
            sweep_at: FIRST_SWEEP,
        })
    }

    /// The shared copy of `value`, copied into the pool when it has none.
    fn shared(pool: &Mutex<Pool<T>>, value: &T) -> Arc<T> {
        // A poisoned pool still holds whole values: take it as it is.
        let mut pool = pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = pool.values.get(value) {
            return Arc::clone(shared);
        }
        if pool.values.len() >= pool.sweep_at {
            pool.values.retain(|v| Arc::strong_count(v) > 1);
            pool.sweep_at = (pool.values.len() * 2).max(FIRST_SWEEP);
        }
        let shared = Arc::from(value);
        pool.values.insert(Arc::clone(&shared));
        shared
    }
}

static STRINGS: LazyLock<Mutex<Pool<str>>> = LazyLock::new(Pool::new);
static LISTS: LazyLock<Mutex<Pool<[Interned]>>> = LazyLock::new(Pool::new);

impl Interned {
    pub fn new(value: &str) -> Interned {
        Interned(Pool::shared(&STRINGS, value))
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

/// A host's installed patches: one shared copy of each distinct list (most hosts of a
/// ring have the same), so a host holds a pointer, not a list of its own.
#[derive(Clone)]
pub struct PatchList(Arc<[Interned]>);

impl PatchList {
    pub fn new(ids: &[Interned]) -> PatchList {
        PatchList(Pool::shared(&LISTS, ids))
    }

    /// The list with `id` added at the end (the same list if it has it).
    pub fn with(&self, id: Interned) -> PatchList {
        if self.0.contains(&id) {
            return self.clone();
        }
        let mut ids = self.0.to_vec();
        ids.push(id);
        PatchList::new(&ids)
    }

    /// The list without the ids `drop` says.
    pub fn without(&self, drop: impl Fn(&Interned) -> bool) -> PatchList {
        let kept: Vec<Interned> = self.0.iter().filter(|id| !drop(id)).cloned().collect();
        PatchList::new(&kept)
    }
}

impl Default for PatchList {
    fn default() -> PatchList {
        PatchList::new(&[])
    }
}

impl Deref for PatchList {
    type Target = [Interned];
    fn deref(&self) -> &[Interned] {
        &self.0
    }
}

impl PartialEq for PatchList {
    fn eq(&self, other: &PatchList) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl<const N: usize> PartialEq<[Interned; N]> for PatchList {
    fn eq(&self, other: &[Interned; N]) -> bool {
        *self.0 == *other
    }
}

impl FromIterator<Interned> for PatchList {
    fn from_iter<I: IntoIterator<Item = Interned>>(ids: I) -> PatchList {
        let ids: Vec<Interned> = ids.into_iter().collect();
        PatchList::new(&ids)
    }
}

impl fmt::Debug for PatchList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl Serialize for PatchList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Lists this long or shorter are read on the stack: a million hosts' lists read from
/// the API leave no short-lived allocation behind each host.
const SHORT_LIST: usize = 8;

impl<'de> Deserialize<'de> for PatchList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PatchList, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PatchList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of patch ids")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PatchList, A::Error> {
                let mut short: [Interned; SHORT_LIST] = Default::default();
                let mut len = 0;
                let mut long: Vec<Interned> = Vec::new();
                while let Some(id) = seq.next_element::<Interned>()? {
                    if len < SHORT_LIST {
                        short[len] = id;
                        len += 1;
                    } else {
                        if long.is_empty() {
                            long.extend(short.iter().cloned());
                        }
                        long.push(id);
                    }
                }
                Ok(if long.is_empty() {
                    PatchList::new(&short[..len])
                } else {
                    PatchList::new(&long)
                })
            }
        }
        deserializer.deserialize_seq(Visitor)
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

    #[test]
    fn hosts_with_the_same_patches_share_one_list() {
        let a: PatchList = ["kb1", "kb2"].into_iter().map(Interned::from).collect();
        let b: PatchList = serde_json::from_str(r#"["kb1","kb2"]"#).unwrap();
        let long: Vec<String> = (0..11).map(|n| format!("kb{n}")).collect();
        let read: PatchList = serde_json::from_str(&serde_json::to_string(&long).unwrap()).unwrap();
        assert_eq!(read.iter().map(Interned::as_str).collect::<Vec<_>>(), long);
        assert!(Arc::ptr_eq(&a.0, &b.0));
        let more = a.with("kb3".into());
        assert_eq!(more.len(), 3);
        assert!(Arc::ptr_eq(&more.with("kb3".into()).0, &more.0));
        let back = more.without(|id| id == "kb3");
        assert!(Arc::ptr_eq(&back.0, &a.0));
        assert_eq!(serde_json::to_string(&back).unwrap(), r#"["kb1","kb2"]"#);
    }
}
