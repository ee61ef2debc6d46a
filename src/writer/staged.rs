//! State the features keep beside a batch's SQL, without the writer naming their types
//! (so `writer` imports no feature: they import it). Two kinds:
//!
//! - [`Staged`]: owned by one batch (the wrapped and activity additions): created on first
//!   use, cut back with a rolled-back savepoint, written just before COMMIT.
//! - [`Journaled`]: shared with readers (the leaderboards' rank index): changed in place
//!   under an undo log, cut back with a savepoint, published or dropped when the batch
//!   ends.

use std::any::{Any, TypeId};
use std::sync::Arc;

use rusqlite::Connection;

use super::costs::Feature;

/// In-memory additions a batch owes to the database.
pub trait Staged: Any + Send {
    /// A position to come back to (`rollback_to`) when a savepoint is rolled back.
    fn mark(&self) -> usize;
    fn rollback_to(&mut self, mark: usize);
    /// Writes what was staged, in the batch's transaction, just before COMMIT.
    fn flush(&mut self, conn: &Connection) -> rusqlite::Result<()>;
    /// The feature the flush's time is charged to.
    fn feature(&self) -> Feature;
}

/// One batch's [`Staged`] parts, one per type, in the order they were first used.
#[derive(Default)]
pub(super) struct Staging {
    parts: Vec<Box<dyn Staged>>,
}

impl Staging {
    /// The batch's `T`, created empty on first use.
    pub(super) fn get<T: Staged + Default>(&mut self) -> &mut T {
        let at = match self.position::<T>() {
            Some(at) => at,
            None => {
                self.parts.push(Box::new(T::default()));
                self.parts.len() - 1
            }
        };
        let part: &mut dyn Any = self.parts[at].as_mut();
        part.downcast_mut::<T>()
            .expect("the part found for a type is of that type")
    }

    fn position<T: Staged>(&self) -> Option<usize> {
        self.parts
            .iter()
            .position(|p| (p.as_ref() as &dyn Any).type_id() == TypeId::of::<T>())
    }

    /// Each part's mark; parts created later are new since it (mark 0).
    pub(super) fn marks(&self) -> Vec<usize> {
        self.parts.iter().map(|p| p.mark()).collect()
    }

    pub(super) fn rollback_to(&mut self, marks: &[usize]) {
        for (i, part) in self.parts.iter_mut().enumerate() {
            part.rollback_to(marks.get(i).copied().unwrap_or(0));
        }
    }

    /// Writes every part, each timed under its feature.
    pub(super) fn flush(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        for part in &mut self.parts {
            let feature = part.feature();
            super::costs::measure(feature, || part.flush(conn))?;
        }
        Ok(())
    }
}

/// Shared state the writer changes inside a batch and readers see once it commits.
pub trait Journaled: Any + Send + Sync {
    /// The undo log's length, to come back to when a savepoint is rolled back.
    fn savepoint(&self) -> usize;
    fn rollback_to(&self, mark: usize);
    /// Publishes the batch's changes to readers if it committed, else undoes them all.
    fn finish(&self, committed: bool);
}

/// The [`Journaled`] state of a writer, found by type.
#[derive(Clone, Default)]
pub struct Shared {
    parts: Vec<Arc<dyn Journaled>>,
}

impl Shared {
    pub fn with(mut self, part: impl Journaled) -> Self {
        self.parts.push(Arc::new(part));
        self
    }

    /// The part of type `T`; None if the writer was built without one.
    pub fn get<T: Journaled>(&self) -> Option<&T> {
        self.parts.iter().find_map(|p| {
            let part: &dyn Any = p.as_ref();
            part.downcast_ref::<T>()
        })
    }

    pub(super) fn savepoints(&self) -> Vec<usize> {
        self.parts.iter().map(|p| p.savepoint()).collect()
    }

    pub(super) fn rollback_to(&self, marks: &[usize]) {
        for (i, part) in self.parts.iter().enumerate() {
            part.rollback_to(marks.get(i).copied().unwrap_or(0));
        }
    }

    pub(super) fn finish(&self, committed: bool) {
        for part in &self.parts {
            part.finish(committed);
        }
    }
}
