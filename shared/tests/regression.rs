//! Regression tests, one per bug, each named by its cause (ripgrep's style). Bugs found
//! in whole conversations live in `tests/data/conversations/regressions.txt`; the rest
//! are here, one module per area.

#[path = "regression/conversation.rs"]
mod conversation;

#[path = "regression/run.rs"]
mod run;

#[path = "regression/text.rs"]
mod text;
