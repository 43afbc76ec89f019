/// A record as read, with the exact stored form it was decoded from, so that a later read in
/// the writer can tell whether it is still byte-for-byte the same (invariant 12: a read planned
/// on a snapshot is decided again in the batch).
#[derive(Clone, Debug)]
pub struct Pinned<T> {
    pub value: T,
    pub(crate) stored: Vec<u8>,
}

impl<T: serde::de::DeserializeOwned> Pinned<T> {
    /// Decodes a stored record, if there is one, keeping its stored form.
    pub(crate) fn of(
        table: &'static str,
        stored: Option<Vec<u8>>,
    ) -> Result<Option<Self>, super::StoreError> {
        stored
            .map(|stored| {
                Ok(Pinned {
                    value: super::access::decode(table, &stored)?,
                    stored,
                })
            })
            .transpose()
    }
}

impl<T> std::borrow::Borrow<T> for Pinned<T> {
    fn borrow(&self) -> &T {
        &self.value
    }
}
