//! Reading ServiceTitan's answers: look-up results, successful writes, and the customer
//! matching decision they lead to. Separate from the state machine in `mod.rs` because
//! this is where a response body moves the pipeline to its next stage.

use crate::booking::{Address, VisitKind};
use crate::matching::{self, Candidate, CandidateLocation, Decision, Homeowner, LocationMatch, NameMatch};
use crate::site::BookingMode;
use crate::transcript;

use super::{BookingPipeline, Stage, MAX_ATTEMPTS, MAX_CANDIDATES};
use crate::servicetitan::models::*;
use crate::servicetitan::Outcome;

impl BookingPipeline {
    fn homeowner(&self) -> Homeowner {
        Homeowner {
            // A business is on file under its name, not the caller's.
            name: self.customer_name(),
            phones: vec![self.request.phone.digits.clone()],
            email: self.request.email.clone(),
            address: self.request.address.clone(),
        }
    }

    pub(super) fn on_lookup(&mut self, body: &str) {
        self.looking_up = false;
        let found = match &self.stage {
            Stage::CreateCustomer => {
                let name = self.customer_name();
                let known: Vec<i64> = self.candidates.iter().map(|c| c.id).collect();
                parse::<Page<CustomerOut>>(body)
                    .and_then(|p| {
                        p.data.into_iter().find(|c| {
                            !known.contains(&c.id) && matching::compare_names(&name, &c.name) == NameMatch::Full
                        })
                    })
                    .map(|c| {
                        self.booked.customer_id = Some(c.id);
                        // The location came inline; find its id.
                        self.stage = Stage::FindLocation;
                    })
            }
            Stage::CreateLocation => parse::<Page<LocationOut>>(body)
                .and_then(|p| p.data.into_iter().find(|l| self.is_our_address(l)))
                .map(|l| {
                    self.booked.location_id = Some(l.id);
                    self.stage = Stage::CreateJob;
                }),
            Stage::CreateJob => {
                // Only the job carrying our marker is ours: the customer may have another
                // job of the same type made in the same minutes (by the office, by phone).
                let marker = self.marker();
                parse::<Page<JobOut>>(body)
                    .and_then(|p| p.data.into_iter().find(|j| has_line(&j.summary, &marker)))
                    .map(|j| self.job_created(j))
            }
            Stage::CreateEstimate => {
                parse::<Page<EstimateOut>>(body).and_then(|p| p.data.into_iter().next()).map(|e| {
                    self.booked.estimate_id = Some(e.id);
                    self.stage = Stage::JobNote { part: 0 };
                })
            }
            Stage::JobNote { part } => {
                let marker = transcript::reference(&self.idempotency_key, part + 1, self.job_notes().len());
                parse::<Page<NoteOut>>(body)
                    .filter(|p| p.data.iter().any(|n| has_line(&n.text, &marker)))
                    .map(|_| self.after_notes_step())
            }
            Stage::CustomerNote => {
                let marker = transcript::reference(&self.idempotency_key, 1, 1);
                parse::<Page<NoteOut>>(body)
                    .filter(|p| p.data.iter().any(|n| has_line(&n.text, &marker)))
                    .map(|_| self.after_notes_step())
            }
            Stage::CreateBooking => {
                let key = self.external_id();
                parse::<Page<BookingOut>>(body)
                    .and_then(|p| p.data.into_iter().find(|b| b.external_id.as_deref() == Some(&key)))
                    .map(|b| self.booking_created(b.id))
            }
            _ => None,
        };
        // Found: the stage moved on. Not found: the write did not happen; send it.
        self.unconfirmed = false;
        let _ = found;
    }

    fn is_our_address(&self, l: &LocationOut) -> bool {
        let a = l.address.clone().unwrap_or_default();
        let addr = Address { street: a.street, unit: a.unit, city: a.city, state: a.state, zip: a.zip };
        l.active != Some(false) && matching::same_place(&self.request.address, &addr)
    }

    pub(super) fn on_success(&mut self, body: &str) {
        self.unconfirmed = false;
        match self.stage.clone() {
            Stage::SearchByPhone => {
                let Some(page) = parse::<Page<CustomerOut>>(body) else { return self.malformed() };
                self.candidates = self.to_candidates(page.data, true);
                if self.site.mode == BookingMode::Booking || self.office_review.is_some() {
                    self.stage = Stage::CreateBooking;
                } else if self.candidates.is_empty() {
                    self.stage = Stage::SearchByAddress;
                } else if self.candidates.len() > MAX_CANDIDATES {
                    self.decide_ambiguous(format!("{} customers share this phone", self.candidates.len()));
                } else {
                    self.stage = Stage::ListLocations { candidate: 0 };
                }
            }
            Stage::SearchByAddress => {
                let Some(page) = parse::<Page<CustomerOut>>(body) else { return self.malformed() };
                self.candidates = self.to_candidates(page.data, false);
                self.candidates.truncate(MAX_CANDIDATES);
                if self.candidates.is_empty() {
                    self.decide_or_list_contacts();
                } else {
                    self.stage = Stage::ListLocations { candidate: 0 };
                }
            }
            Stage::ListLocations { candidate } => {
                let Some(page) = parse::<Page<LocationOut>>(body) else { return self.malformed() };
                if let Some(c) = self.candidates.get_mut(candidate) {
                    c.locations = page
                        .data
                        .into_iter()
                        .map(|l| {
                            let a = l.address.unwrap_or_default();
                            CandidateLocation {
                                id: l.id,
                                address: Address {
                                    street: a.street,
                                    unit: a.unit,
                                    city: a.city,
                                    state: a.state,
                                    zip: a.zip,
                                },
                                active: l.active != Some(false),
                            }
                        })
                        .collect();
                }
                if candidate + 1 < self.candidates.len() {
                    self.stage = Stage::ListLocations { candidate: candidate + 1 };
                } else {
                    self.decide_or_list_contacts();
                }
            }
            Stage::ListContacts { candidate } => {
                let Some(page) = parse::<Page<ContactOut>>(body) else { return self.malformed() };
                if let Some(c) = self.candidates.get_mut(candidate) {
                    let (emails, phones): (Vec<ContactOut>, Vec<ContactOut>) =
                        page.data.into_iter().filter(|x| x.kind != "Fax").partition(|x| x.kind == "Email");
                    c.emails = emails.into_iter().map(|x| x.value).collect();
                    c.phones = phones.into_iter().map(|x| x.value).collect();
                    self.contacts_listed.push(c.id);
                }
                self.decide_or_list_contacts();
            }
            Stage::FindLocation => {
                let Some(page) = parse::<Page<LocationOut>>(body) else { return self.malformed() };
                match page.data.into_iter().find(|l| self.is_our_address(l)) {
                    Some(l) => {
                        self.booked.location_id = Some(l.id);
                        self.stage = Stage::CreateJob;
                    }
                    None => self.stage = Stage::CreateLocation,
                }
            }
            Stage::CreateCustomer => {
                let Some(c) = parse::<CustomerOut>(body).filter(|c| c.id != 0) else { return self.unknown_write() };
                self.booked.customer_id = Some(c.id);
                match c.locations.first() {
                    Some(l) => {
                        self.booked.location_id = Some(l.id);
                        self.stage = Stage::CreateJob;
                    }
                    None => self.stage = Stage::FindLocation,
                }
            }
            Stage::CreateLocation => {
                let Some(l) = parse::<LocationOut>(body).filter(|l| l.id != 0) else { return self.unknown_write() };
                self.booked.location_id = Some(l.id);
                self.stage = Stage::CreateJob;
            }
            Stage::CreateJob => {
                let Some(j) = parse::<JobOut>(body).filter(|j| j.id != 0) else { return self.unknown_write() };
                self.job_created(j);
            }
            Stage::CreateEstimate => {
                let Some(e) = parse::<EstimateOut>(body).filter(|e| e.id != 0) else { return self.unknown_write() };
                self.booked.estimate_id = Some(e.id);
                self.stage = Stage::JobNote { part: 0 };
            }
            Stage::JobNote { .. } | Stage::CustomerNote => self.after_notes_step(),
            Stage::CreateBooking => {
                let Some(b) = parse::<BookingOut>(body).filter(|b| b.id != 0) else { return self.unknown_write() };
                self.booking_created(b.id);
            }
            Stage::Finished(_) => {}
        }
    }

    /// A 2xx we cannot read on a search: try again (counts as an attempt).
    fn malformed(&mut self) {
        self.attempts += 1;
        self.wait_until = None;
        if self.attempts >= MAX_ATTEMPTS {
            self.finish(Outcome::Failed { message: "ServiceTitan sent responses we could not read".into() });
        }
    }

    /// A 2xx to a write without a readable id: it probably happened; look it up.
    fn unknown_write(&mut self) {
        self.unconfirmed = true;
        self.malformed();
    }

    fn to_candidates(&self, customers: Vec<CustomerOut>, by_phone: bool) -> Vec<Candidate> {
        customers
            .into_iter()
            .filter(|c| c.active != Some(false) && c.merged_to_id.is_none() && !self.stale_customers.contains(&c.id))
            .map(|c| Candidate {
                id: c.id,
                name: c.name,
                active: true,
                address: c.address.map(|a| Address {
                    street: a.street,
                    unit: a.unit,
                    city: a.city,
                    state: a.state,
                    zip: a.zip,
                }),
                locations: vec![],
                phones: vec![],
                emails: vec![],
                found_by_phone: by_phone,
            })
            .collect()
    }

    /// Decides, unless a candidate's contacts could change the decision: then lists them
    /// first. Only the email rule needs contacts (a phone hit is known from the search),
    /// so without an email, or when no candidate's email could matter, no call is made.
    fn decide_or_list_contacts(&mut self) {
        match self.contacts_that_matter() {
            Some(candidate) => self.stage = Stage::ListContacts { candidate },
            None => self.decide(),
        }
    }

    /// The first candidate, contacts not yet listed, whose having the homeowner's email
    /// (alone or with other such candidates) would give another decision than not.
    fn contacts_that_matter(&self) -> Option<usize> {
        let email = self.email()?;
        let h = self.homeowner();
        let unknown: Vec<usize> =
            (0..self.candidates.len()).filter(|&i| !self.contacts_listed.contains(&self.candidates[i].id)).collect();
        let now = same_kind(&matching::decide(&h, &self.candidates));
        // At most MAX_CANDIDATES unknowns: at most 7 subsets, smallest first.
        let mut subsets: Vec<u32> = (1..1u32 << unknown.len()).collect();
        subsets.sort_by_key(|m| m.count_ones());
        subsets.into_iter().find_map(|mask| {
            let mut what_if = self.candidates.clone();
            let picked: Vec<usize> =
                unknown.iter().enumerate().filter(|(b, _)| mask & (1 << b) != 0).map(|(_, &i)| i).collect();
            for &i in &picked {
                what_if[i].emails.push(email.clone());
            }
            (same_kind(&matching::decide(&h, &what_if)) != now).then(|| picked[0])
        })
    }

    fn decide(&mut self) {
        let d = matching::decide(&self.homeowner(), &self.candidates);
        match &d {
            Decision::Existing { customer, location } => {
                self.booked.customer_id = Some(*customer);
                match location {
                    LocationMatch::Existing(l) => {
                        self.booked.location_id = Some(*l);
                        self.stage = Stage::CreateJob;
                    }
                    LocationMatch::New => self.stage = Stage::CreateLocation,
                }
            }
            Decision::New => self.stage = Stage::CreateCustomer,
            Decision::Ambiguous { reason } => {
                self.office_review = Some(format!("customer match is ambiguous: {reason}"));
                self.stage = Stage::CreateBooking;
            }
        }
        self.decision = Some(d);
    }

    fn decide_ambiguous(&mut self, reason: String) {
        self.decision = Some(Decision::Ambiguous { reason: reason.clone() });
        self.office_review = Some(format!("customer match is ambiguous: {reason}"));
        self.stage = Stage::CreateBooking;
    }

    fn job_created(&mut self, j: JobOut) {
        self.booked.job_id = Some(j.id);
        self.booked.job_number = j.job_number.or_else(|| Some(j.id.to_string()));
        self.first_write_at = None;
        self.stage = match self.request.kind {
            VisitKind::Estimate => Stage::CreateEstimate,
            VisitKind::Service => Stage::JobNote { part: 0 },
        };
    }

    pub(super) fn after_notes_step(&mut self) {
        self.stage = match self.stage {
            Stage::JobNote { part } if part + 1 < self.job_notes().len() => Stage::JobNote { part: part + 1 },
            Stage::JobNote { .. } => Stage::CustomerNote,
            _ if self.site.mode == BookingMode::JobAndBooking => Stage::CreateBooking,
            _ => Stage::Finished(Outcome::Booked(self.booked.clone())),
        };
    }

    fn booking_created(&mut self, id: i64) {
        self.booked.booking_id = Some(id);
        self.finish(Outcome::Booked(self.booked.clone()));
    }
}

/// `text` has `line` as a whole line of its own. Our markers are written that way; a
/// homeowner's text is always inside one of our lines (see [`crate::text::one_line`]),
/// so a marker typed into the chat is never a line of its own and never matches.
fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim_end() == line)
}

/// A decision with the ambiguity's wording left out: two ambiguous decisions both go to
/// the office, so telling them apart is not worth a call.
fn same_kind(d: &Decision) -> Option<(i64, LocationMatch)> {
    match d {
        Decision::Existing { customer, location } => Some((*customer, *location)),
        Decision::New => Some((0, LocationMatch::New)),
        Decision::Ambiguous { .. } => None,
    }
}
