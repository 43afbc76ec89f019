//! The witness's durable state: per log, the size and root it last cosigned, in a redb file,
//! and a generation counter that every update raises.
//!
//! Invariants:
//! - An update is committed (redb `Durability::Immediate`, fsynced) before the cosignature is
//!   returned, and only ever moves a log forward: so after any crash the witness still refuses
//!   every root inconsistent with what it cosigned.
//! - Rollback: the generation is also written to a seal file beside the state (fsynced after
//!   the commit, before the answer). At start a state file whose generation is below its seal
//!   was copied back from an older version: the witness refuses to start. A generation above
//!   the seal is a crash between the two writes, and the seal is brought forward. (Copying back
//!   both files together is not detected here; keep the seal on other storage with `--seal`.)

use std::path::{Path, PathBuf};

use redb::{Database, Durability, ReadableDatabase as _, ReadableTable as _, TableDefinition};

use super::protocol::Latest;

/// origin → size (8 bytes big-endian) ‖ root (32 bytes).
const LOGS: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("logs");
/// "generation" → updates committed so far.
const META: TableDefinition<'static, &str, u64> = TableDefinition::new("meta");
const GENERATION: &str = "generation";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("witness state: {0}")]
    Db(String),
    #[error(
        "the witness state {state} is at generation {found}, older than its seal ({sealed}): it was copied back from an earlier version. Refusing to start: cosigning from it could cosign two histories"
    )]
    RolledBack {
        state: String,
        found: u64,
        sealed: u64,
    },
    #[error("{path}: {detail}")]
    Seal { path: String, detail: String },
}

fn db_err<E: std::fmt::Display>(e: E) -> StateError {
    StateError::Db(e.to_string())
}

pub struct WitnessState {
    db: Database,
    seal: PathBuf,
    generation: u64,
}

impl WitnessState {
    /// Opens (or creates) the state and checks it against its seal (`seal`, or `<state>.seal`).
    pub fn open(path: &Path, seal: Option<&Path>) -> Result<Self, StateError> {
        let seal = seal.map_or_else(|| path.with_extension("seal"), Path::to_path_buf);
        let existed = path.exists();
        let db = Database::create(path).map_err(db_err)?;
        let generation = {
            let tx = db.begin_write().map_err(db_err)?;
            tx.open_table(LOGS).map_err(db_err)?;
            let g = tx
                .open_table(META)
                .map_err(db_err)?
                .get(GENERATION)
                .map_err(db_err)?
                .map_or(0, |v| v.value());
            tx.commit().map_err(db_err)?;
            g
        };
        let sealed = read_seal(&seal)?;
        match sealed {
            Some(s) if generation < s => {
                return Err(StateError::RolledBack {
                    state: path.display().to_string(),
                    found: generation,
                    sealed: s,
                });
            }
            // A state that has cosigned but lost its seal: refuse too (the seal may be what
            // was rolled back, or removed to hide a rollback of both).
            None if existed && generation > 0 => {
                return Err(StateError::Seal {
                    path: seal.display().to_string(),
                    detail: format!(
                        "missing, while the state is at generation {generation}; restore the seal or move the state away"
                    ),
                });
            }
            _ => {}
        }
        let state = Self {
            db,
            seal,
            generation,
        };
        state.write_seal()?;
        Ok(state)
    }

    pub fn latest(&self, origin: &str) -> Result<Option<Latest>, StateError> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(LOGS).map_err(db_err)?;
        let Some(v) = table.get(origin).map_err(db_err)? else {
            return Ok(None);
        };
        decode(v.value()).map(Some)
    }

    /// Records `latest` for `origin` durably, refusing to go back or to change the root of a
    /// size (a second line of defence behind `protocol::decide`).
    pub fn advance(&mut self, origin: &str, latest: Latest) -> Result<(), StateError> {
        let generation = self.generation + 1;
        let mut tx = self.db.begin_write().map_err(db_err)?;
        tx.set_durability(Durability::Immediate).map_err(db_err)?;
        {
            let mut logs = tx.open_table(LOGS).map_err(db_err)?;
            if let Some(old) = logs.get(origin).map_err(db_err)? {
                let old = decode(old.value())?;
                if old.size > latest.size || (old.size == latest.size && old.root != latest.root) {
                    return Err(StateError::Db(format!(
                        "refusing to move {origin} from size {} back to {}",
                        old.size, latest.size
                    )));
                }
            }
            let mut bytes = latest.size.to_be_bytes().to_vec();
            bytes.extend_from_slice(&latest.root);
            logs.insert(origin, bytes.as_slice()).map_err(db_err)?;
            tx.open_table(META)
                .map_err(db_err)?
                .insert(GENERATION, generation)
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        self.generation = generation;
        self.write_seal()
    }

    fn write_seal(&self) -> Result<(), StateError> {
        use std::io::Write as _;
        let err = |e: std::io::Error| StateError::Seal {
            path: self.seal.display().to_string(),
            detail: e.to_string(),
        };
        let tmp = self.seal.with_extension("seal.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(format!("{}\n", self.generation).as_bytes())
            .map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &self.seal).map_err(err)?;
        if let Some(dir) = self.seal.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(err)?;
        }
        Ok(())
    }
}

fn read_seal(path: &Path) -> Result<Option<u64>, StateError> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| StateError::Seal {
            path: path.display().to_string(),
            detail: "not a generation number".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::Seal {
            path: path.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

fn decode(bytes: &[u8]) -> Result<Latest, StateError> {
    let (size, root) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| StateError::Db("corrupt log record".into()))?;
    let root: [u8; 32] = root
        .try_into()
        .map_err(|_| StateError::Db("corrupt log record".into()))?;
    Ok(Latest {
        size: u64::from_be_bytes(*size),
        root,
    })
}
