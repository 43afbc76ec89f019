//! Operations: liveness and readiness.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /healthz`.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct Ready {
    #[schema(example = "ready")]
    pub status: String,
}
