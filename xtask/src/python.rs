//! Python extractors: `extractor-sdk-py/run.sh` owns the venv (`target/py-venv`, pinned
//! componentize-py and pytest), the components (`target/plugins-py/*.wasm` from
//! `extractors-py/*`, `target/guests-py/abuse_py.wasm` for the host's tests) and the pytest
//! suites (SDK with the shared finder vectors, each example's replay tests). This module only
//! calls it, so a plugin author and CI run the very same script.

use std::{path::Path, process::Command};

use crate::{Result, process::run};

/// Builds the Python components (skipping unchanged ones) and runs their pytest suites.
pub fn build_and_test(root: &Path) -> Result {
    run(Command::new("bash").arg(root.join("extractor-sdk-py/run.sh")).arg("all").current_dir(root))
}
