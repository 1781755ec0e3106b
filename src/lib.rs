//! Dramatis engine: from a book or script to a persona dataset.
//!
//! Stages, each in its own module: [`ingest`] (files → documents),
//! [`extract`] (documents → scenes of utterances and a cast),
//! [`dataset`] (a character's lines → training samples), with [`jobs`]
//! holding what every long step shares (errors, progress, cancellation).

pub mod dataset;
pub mod extract;
pub mod ingest;
pub mod jobs;
pub mod model;
pub mod persona;
pub mod pipeline;
pub mod png;
pub mod random;
pub mod store;
pub mod text;
pub mod tune;

pub use jobs::{Error, Result};
