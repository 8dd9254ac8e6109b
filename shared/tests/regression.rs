//! Regression tests, one per bug, each named by its cause (ripgrep's style). Bugs found
//! in whole conversations live in `tests/data/conversations/regressions.txt`; the rest
//! are here, one module per area.

/// The in-process ServiceTitan the run and pipeline regressions book against.
#[path = "pipeline_fake.rs"]
mod fake;

#[path = "regression/conversation.rs"]
mod conversation;

#[path = "regression/run.rs"]
mod run;

#[path = "regression/text.rs"]
mod text;

#[path = "regression/pipeline.rs"]
mod pipeline;
