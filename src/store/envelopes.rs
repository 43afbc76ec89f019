//! Envelopes (`envelopes`): one per (customer, label), the ciphertext and the owner's wrap.

use super::access::{Open, get_json, get_raw, list_json2};
use super::pinned::Pinned;
use super::records::{EnvelopeHead, EnvelopeRecord};
use super::tables::ENVELOPES;
use super::{StoreError, Tx};
use crate::domain::catalog::Label;
use crate::domain::ids::CustomerId;

pub trait EnvelopeReads {
    fn envelope(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<EnvelopeRecord>, StoreError>;
    /// The fields a write checks, without decoding the ciphertext.
    fn envelope_head(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<EnvelopeHead>, StoreError>;
    /// Every envelope of the customer, in label order.
    fn envelopes_of(&self, customer: &CustomerId) -> Result<Vec<EnvelopeRecord>, StoreError>;
    fn envelope_pinned(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<Pinned<EnvelopeRecord>>, StoreError>;
    /// True when the envelope is still exactly what `pinned` read.
    fn envelope_unchanged(
        &self,
        customer: &CustomerId,
        label: &Label,
        pinned: &Pinned<EnvelopeRecord>,
    ) -> Result<bool, StoreError>;
}

pub trait EnvelopeWrites {
    /// Stores the envelope under its own customer and label.
    fn put_envelope(&mut self, record: &EnvelopeRecord) -> Result<(), StoreError>;
    fn remove_envelope(&mut self, customer: &CustomerId, label: &Label)
    -> Result<bool, StoreError>;
}

impl<R: Open> EnvelopeReads for R {
    fn envelope(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<EnvelopeRecord>, StoreError> {
        get_json(self, ENVELOPES, (customer.as_str(), label.as_str()))
    }

    fn envelope_head(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<EnvelopeHead>, StoreError> {
        get_json(self, ENVELOPES, (customer.as_str(), label.as_str()))
    }

    fn envelopes_of(&self, customer: &CustomerId) -> Result<Vec<EnvelopeRecord>, StoreError> {
        list_json2(self, ENVELOPES, customer.as_str())
    }

    fn envelope_pinned(
        &self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<Option<Pinned<EnvelopeRecord>>, StoreError> {
        Pinned::of(
            "envelopes",
            get_raw(self, ENVELOPES, (customer.as_str(), label.as_str()))?,
        )
    }

    fn envelope_unchanged(
        &self,
        customer: &CustomerId,
        label: &Label,
        pinned: &Pinned<EnvelopeRecord>,
    ) -> Result<bool, StoreError> {
        self.holds_record(
            super::access::Rechecked::Envelope(customer.as_str(), label.as_str()),
            &pinned.stored,
        )
    }
}

impl EnvelopeWrites for Tx<'_> {
    fn put_envelope(&mut self, record: &EnvelopeRecord) -> Result<(), StoreError> {
        let key = (record.customer_id.as_str(), record.label.as_str());
        self.put_json(ENVELOPES, key, record)
    }

    fn remove_envelope(
        &mut self,
        customer: &CustomerId,
        label: &Label,
    ) -> Result<bool, StoreError> {
        self.remove_json(ENVELOPES, (customer.as_str(), label.as_str()))
    }
}
