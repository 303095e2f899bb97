//! A list's row keys as screens and the cursor read them: a pane's keys, or the host
//! list's ordinals looked up in its index (a million rows are not a million strings).

use super::host_index::{HostIndex, Ordinal};

#[derive(Clone, Copy)]
pub enum RowKeys<'a> {
    Keys(&'a [String]),
    Hosts {
        index: &'a HostIndex,
        rows: &'a [Ordinal],
    },
}

impl<'a> RowKeys<'a> {
    pub fn len(&self) -> usize {
        match self {
            RowKeys::Keys(keys) => keys.len(),
            RowKeys::Hosts { rows, .. } => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, at: usize) -> Option<&'a str> {
        match *self {
            RowKeys::Keys(keys) => keys.get(at).map(String::as_str),
            RowKeys::Hosts { index, rows } => rows.get(at).map(|o| index.id(*o)),
        }
    }

    /// Where `key` is, if it is a row (the host list asks its index, not every row).
    pub fn position(&self, key: &str) -> Option<usize> {
        match *self {
            RowKeys::Keys(keys) => keys.iter().position(|k| k == key),
            RowKeys::Hosts { index, rows } => {
                let wanted = index.ordinal(key)?;
                rows.iter().position(|o| *o == wanted)
            }
        }
    }

    /// Every key, copied.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |at| this.get(at))
    }
}

impl std::ops::Index<usize> for RowKeys<'_> {
    type Output = str;

    fn index(&self, at: usize) -> &str {
        self.get(at).expect("a row within the list")
    }
}

impl std::fmt::Debug for RowKeys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for RowKeys<'_> {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.len() == N && self.iter().eq(other.iter().copied())
    }
}
