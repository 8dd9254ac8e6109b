//! Follow-ups, sans-IO: ServiceTitan events in, scheduled and halted messages out
//! (issue 15). The worker moves the bytes; this module decides.

use serde::{Deserialize, Serialize};

/// A site's follow-up settings (`followUps` in the site JSON); defaults from the seeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct FollowUpSettings {}
