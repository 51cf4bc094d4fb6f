//! Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, moto…): the same Parquet files and
//! manifests as the local destination, as objects.
//!
//! Layout (docs/destinations/s3.md): `<prefix>/<table>/<run>.parquet`, one object per run
//! named after the run's window, and a manifest per run written last under
//! `<prefix>/_wharf/manifests/`. An object appears whole or not at all (single PUT, or a
//! multipart upload that only becomes visible when completed), and a retried run overwrites
//! the same key, so readers globbing `klaviyo_event/*.parquet` never count a row twice.

mod client;
mod config;
mod destination;

pub use client::S3Options;
pub use config::{S3Config, Secret};
pub use destination::S3Destination;
