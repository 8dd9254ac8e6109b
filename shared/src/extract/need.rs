//! What the homeowner needs: trade, the issue in the contractor's words, repair or
//! estimate, and whether it is an emergency. Phrase tables, English and Spanish.

use crate::booking::{Trade, VisitKind};
use crate::text;

/// A danger that needs safety instructions before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Emergency {
    /// Gas smell or gas leak.
    Gas,
    /// Carbon monoxide alarm.
    CarbonMonoxide,
    /// Flooding, burst pipe.
    Flooding,
    /// Sparks, burning smell, smoke from wiring.
    Sparks,
}

/// How soon, short of an emergency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Urgency {
    /// An emergency: Urgent priority and safety instructions.
    Emergency(Emergency),
    /// No heat in freezing weather, "urgent", "emergency": High priority.
    High,
}

/// `(phrase, emergency)`; phrases are matched on whole words of the normalized text.
const EMERGENCIES: &[(&str, Emergency)] = &[
    ("smell gas", Emergency::Gas), ("smell of gas", Emergency::Gas), ("gas smell", Emergency::Gas),
    ("smell like gas", Emergency::Gas), ("gas leak", Emergency::Gas), ("leaking gas", Emergency::Gas),
    ("rotten eggs", Emergency::Gas), ("olor a gas", Emergency::Gas), ("huele a gas", Emergency::Gas),
    ("fuga de gas", Emergency::Gas), ("smell natural gas", Emergency::Gas),
    ("carbon monoxide", Emergency::CarbonMonoxide), ("co alarm", Emergency::CarbonMonoxide),
    ("co detector", Emergency::CarbonMonoxide), ("co monitor", Emergency::CarbonMonoxide),
    ("monóxido", Emergency::CarbonMonoxide), ("monoxido", Emergency::CarbonMonoxide),
    ("flooding", Emergency::Flooding), ("flooded", Emergency::Flooding), ("flood", Emergency::Flooding),
    ("burst pipe", Emergency::Flooding), ("pipe burst", Emergency::Flooding), ("water everywhere", Emergency::Flooding),
    ("pipe broke", Emergency::Flooding), ("inundación", Emergency::Flooding), ("inundado", Emergency::Flooding),
    ("inundada", Emergency::Flooding), ("inundando", Emergency::Flooding),
    ("sparks", Emergency::Sparks), ("sparking", Emergency::Sparks), ("burning smell", Emergency::Sparks),
    ("smell burning", Emergency::Sparks), ("smell like burning", Emergency::Sparks), ("smoke", Emergency::Sparks),
    ("smoking", Emergency::Sparks), ("electrical fire", Emergency::Sparks), ("chispas", Emergency::Sparks),
    ("olor a quemado", Emergency::Sparks), ("huele a quemado", Emergency::Sparks), ("humo", Emergency::Sparks),
];

const HIGH: &[&str] = &[
    "urgent", "emergency", "asap emergency", "freezing", "below zero", "below 0", "urgente", "emergencia", "no heat",
    "sin calefacción",
];

/// `(phrase, trade, issue label)`. Longer, more specific phrases come first: the
/// first phrase found in the text decides the issue; every hit votes for the trade.
const ISSUES: &[(&str, Trade, &str)] = &[
    ("water heater", Trade::Plumbing, "Water heater"),
    ("hot water heater", Trade::Plumbing, "Water heater"),
    ("tankless", Trade::Plumbing, "Water heater"),
    ("no hot water", Trade::Plumbing, "No hot water"),
    ("calentador de agua", Trade::Plumbing, "Water heater"),
    ("sin agua caliente", Trade::Plumbing, "No hot water"),
    ("roof leak", Trade::Roofing, "Roof leak"),
    ("roof leaking", Trade::Roofing, "Roof leak"),
    ("leak in the ceiling", Trade::Roofing, "Roof leak"),
    ("ceiling leak", Trade::Roofing, "Roof leak"),
    ("missing shingles", Trade::Roofing, "Missing shingles"),
    ("shingles", Trade::Roofing, "Shingles"),
    ("gutter", Trade::Roofing, "Gutters"),
    ("gutters", Trade::Roofing, "Gutters"),
    ("skylight", Trade::Roofing, "Skylight"),
    ("new roof", Trade::Roofing, "New roof"),
    ("roof", Trade::Roofing, "Roof"),
    ("roofer", Trade::Roofing, "Roof"),
    ("roofing", Trade::Roofing, "Roof"),
    ("gotera", Trade::Roofing, "Roof leak"),
    ("techo", Trade::Roofing, "Roof"),
    ("tejado", Trade::Roofing, "Roof"),
    ("heat pump", Trade::Hvac, "Heat pump"),
    ("mini split", Trade::Hvac, "Mini split"),
    ("no enfría", Trade::Hvac, "AC not cooling"),
    ("no enfria", Trade::Hvac, "AC not cooling"),
    ("tune up", Trade::Hvac, "Tune-up"),
    ("tune-up", Trade::Hvac, "Tune-up"),
    ("maintenance", Trade::Hvac, "Maintenance"),
    ("not cooling", Trade::Hvac, "AC not cooling"),
    ("stopped cooling", Trade::Hvac, "AC not cooling"),
    ("warm air", Trade::Hvac, "AC not cooling"),
    ("hot air", Trade::Hvac, "AC not cooling"),
    ("no cold air", Trade::Hvac, "AC not cooling"),
    ("no heat", Trade::Hvac, "No heat"),
    ("not heating", Trade::Hvac, "No heat"),
    ("stopped heating", Trade::Hvac, "No heat"),
    ("cold air", Trade::Hvac, "No heat"),
    ("air conditioner", Trade::Hvac, "AC"),
    ("air conditioning", Trade::Hvac, "AC"),
    ("aire acondicionado", Trade::Hvac, "AC"),
    ("calefacción", Trade::Hvac, "No heat"),
    ("calefaccion", Trade::Hvac, "No heat"),
    ("ac", Trade::Hvac, "AC"),
    ("hvac", Trade::Hvac, "HVAC service"),
    ("furnace", Trade::Hvac, "Furnace"),
    ("boiler", Trade::Hvac, "Boiler"),
    ("thermostat", Trade::Hvac, "Thermostat"),
    ("ductwork", Trade::Hvac, "Ductwork"),
    ("duct", Trade::Hvac, "Ductwork"),
    ("ducts", Trade::Hvac, "Ductwork"),
    ("vents", Trade::Hvac, "Vents"),
    ("compressor", Trade::Hvac, "AC"),
    ("cooling", Trade::Hvac, "AC"),
    ("heating", Trade::Hvac, "Heating"),
    ("heater", Trade::Hvac, "Heating"),
    ("heat", Trade::Hvac, "Heating"),
    ("carbon monoxide", Trade::Hvac, "CO alarm"),
    ("co alarm", Trade::Hvac, "CO alarm"),
    ("aire", Trade::Hvac, "AC"),
    ("clima", Trade::Hvac, "AC"),
    ("burst pipe", Trade::Plumbing, "Burst pipe"),
    ("pipe burst", Trade::Plumbing, "Burst pipe"),
    ("flooding", Trade::Plumbing, "Flooding"),
    ("flooded", Trade::Plumbing, "Flooding"),
    ("flood", Trade::Plumbing, "Flooding"),
    ("clogged drain", Trade::Plumbing, "Clogged drain"),
    ("drain", Trade::Plumbing, "Drain"),
    ("clogged", Trade::Plumbing, "Clog"),
    ("clog", Trade::Plumbing, "Clog"),
    ("backed up", Trade::Plumbing, "Backup"),
    ("sewer", Trade::Plumbing, "Sewer"),
    ("toilet", Trade::Plumbing, "Toilet"),
    ("faucet", Trade::Plumbing, "Faucet"),
    ("sink", Trade::Plumbing, "Sink"),
    ("garbage disposal", Trade::Plumbing, "Garbage disposal"),
    ("disposal", Trade::Plumbing, "Garbage disposal"),
    ("sump pump", Trade::Plumbing, "Sump pump"),
    ("shower", Trade::Plumbing, "Shower"),
    ("tub", Trade::Plumbing, "Tub"),
    ("pipe", Trade::Plumbing, "Pipe"),
    ("pipes", Trade::Plumbing, "Pipe"),
    ("leak", Trade::Plumbing, "Leak"),
    ("leaking", Trade::Plumbing, "Leak"),
    ("leaks", Trade::Plumbing, "Leak"),
    ("dripping", Trade::Plumbing, "Leak"),
    ("water softener", Trade::Plumbing, "Water softener"),
    ("plumber", Trade::Plumbing, "Plumbing service"),
    ("plumbing", Trade::Plumbing, "Plumbing service"),
    ("gas line", Trade::Plumbing, "Gas line"),
    ("fuga", Trade::Plumbing, "Leak"),
    ("plomero", Trade::Plumbing, "Plumbing service"),
    ("plomería", Trade::Plumbing, "Plumbing service"),
    ("tubería", Trade::Plumbing, "Pipe"),
    ("tuberia", Trade::Plumbing, "Pipe"),
    ("inodoro", Trade::Plumbing, "Toilet"),
    ("baño", Trade::Plumbing, "Toilet"),
    ("drenaje", Trade::Plumbing, "Drain"),
    ("lavabo", Trade::Plumbing, "Sink"),
    ("fregadero", Trade::Plumbing, "Sink"),
    ("ev charger", Trade::Electrical, "EV charger"),
    ("panel upgrade", Trade::Electrical, "Panel upgrade"),
    ("electrical panel", Trade::Electrical, "Electrical panel"),
    ("no power", Trade::Electrical, "No power"),
    ("power out", Trade::Electrical, "No power"),
    ("lost power", Trade::Electrical, "No power"),
    ("breaker", Trade::Electrical, "Breaker tripping"),
    ("breakers", Trade::Electrical, "Breaker tripping"),
    ("outlet", Trade::Electrical, "Outlet"),
    ("outlets", Trade::Electrical, "Outlet"),
    ("light switch", Trade::Electrical, "Light switch"),
    ("switch", Trade::Electrical, "Switch"),
    ("lights", Trade::Electrical, "Lights"),
    ("flickering", Trade::Electrical, "Flickering lights"),
    ("wiring", Trade::Electrical, "Wiring"),
    ("ceiling fan", Trade::Electrical, "Ceiling fan"),
    ("generator", Trade::Electrical, "Generator"),
    ("panel", Trade::Electrical, "Electrical panel"),
    ("sparks", Trade::Electrical, "Sparks"),
    ("sparking", Trade::Electrical, "Sparks"),
    ("burning smell", Trade::Electrical, "Burning smell"),
    ("electrician", Trade::Electrical, "Electrical service"),
    ("electrical", Trade::Electrical, "Electrical service"),
    ("electric", Trade::Electrical, "Electrical service"),
    ("electricista", Trade::Electrical, "Electrical service"),
    ("enchufe", Trade::Electrical, "Outlet"),
    ("luz", Trade::Electrical, "No power"),
    ("luces", Trade::Electrical, "Lights"),
    ("chispas", Trade::Electrical, "Sparks"),
    ("eléctrico", Trade::Electrical, "Electrical service"),
    ("electrico", Trade::Electrical, "Electrical service"),
];

const ESTIMATE: &[&str] = &[
    "how much", "quote", "estimate", "price", "pricing", "cost", "costs", "new", "replace", "replacement",
    "replacing", "install", "installation", "installed", "upgrade", "cuánto", "cuanto", "cotización",
    "cotizacion", "presupuesto", "nuevo", "nueva", "instalar", "reemplazar",
];

/// What the text says about the job.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Need {
    pub trade: Option<Trade>,
    pub issue: Option<String>,
    pub kind: Option<VisitKind>,
    pub urgency: Option<Urgency>,
}

/// `padded` is the normalized text with a space at each end.
pub(crate) fn find(padded: &Padded<'_>) -> Need {
    let mut need = Need::default();
    let mut votes = [0u32; 4];
    let mut first_pos = [usize::MAX; 4];
    let mut best_issue: Option<(usize, &str)> = None;
    for (phrase, trade, label) in ISSUES {
        if let Some(pos) = find_phrase(padded, phrase) {
            let t = *trade as usize;
            if let Some(v) = votes.get_mut(t) {
                *v += 1 + phrase.len() as u32 / 6;
            }
            if let Some(p) = first_pos.get_mut(t) {
                *p = (*p).min(pos);
            }
            if best_issue.is_none() {
                best_issue = Some((t, label));
            }
        }
    }
    // Roof words outrank a generic "leak"; otherwise most votes, then earliest.
    if let Some(v) = votes.get_mut(Trade::Roofing as usize).filter(|v| **v > 0) {
        *v += 2;
    }
    let winner = (0..4)
        .filter(|&t| votes.get(t).copied().unwrap_or(0) > 0)
        .max_by_key(|&t| (votes.get(t).copied().unwrap_or(0), usize::MAX - first_pos.get(t).copied().unwrap_or(0)));
    if let Some(t) = winner {
        need.trade = Trade::ALL.get(t).copied();
        need.issue = ISSUES
            .iter()
            .find(|(p, tr, _)| *tr as usize == t && find_phrase(padded, p).is_some())
            .map(|(_, _, l)| (*l).to_string())
            .or(best_issue.map(|(_, l)| l.to_string()));
    }
    if ESTIMATE.iter().any(|p| find_phrase(padded, p).is_some()) && need.trade.is_some() {
        need.kind = Some(VisitKind::Estimate);
    }
    if let Some((_, e)) = EMERGENCIES.iter().find(|(p, _)| find_phrase(padded, p).is_some()) {
        need.urgency = Some(Urgency::Emergency(*e));
        if need.trade.is_none() {
            need.trade = Some(match e {
                Emergency::Gas | Emergency::CarbonMonoxide => Trade::Hvac,
                Emergency::Flooding => Trade::Plumbing,
                Emergency::Sparks => Trade::Electrical,
            });
        }
        let label = match e {
            Emergency::Gas => "Gas smell",
            Emergency::CarbonMonoxide => "CO alarm",
            Emergency::Flooding => "Flooding",
            Emergency::Sparks => "Sparks / burning smell",
        };
        need.issue = Some(match &need.issue {
            Some(i) if i != label => format!("{label}: {i}"),
            _ => label.to_string(),
        });
        need.kind = Some(VisitKind::Service);
    } else if HIGH.iter().any(|p| find_phrase(padded, p).is_some()) {
        let freezing = ["freezing", "below zero", "below 0", "frozen", "baby", "elderly", "urgent", "emergency", "urgente", "emergencia"];
        if !padded.contains(" no heat ") || freezing.iter().any(|p| find_phrase(padded, p).is_some()) {
            need.urgency = Some(Urgency::High);
        }
    }
    need
}

/// The normalized text of one message with a space at each end, plus two small
/// bit sets of what can start a word (first byte, first two bytes), built once per
/// message: most of the ~600 phrases of the tables are ruled out by one bit test
/// instead of a substring search.
pub(crate) struct Padded<'a> {
    text: &'a str,
    first: [u64; 4],
    pair: [u64; 16],
}

fn pair_bit(a: u8, b: u8) -> usize {
    (usize::from(a).wrapping_mul(31) ^ usize::from(b).wrapping_mul(7)) & 1023
}

impl<'a> Padded<'a> {
    pub(crate) fn new(text: &'a str) -> Padded<'a> {
        let mut p = Padded { text, first: [0; 4], pair: [0; 16] };
        let b = text.as_bytes();
        let mut prev_alnum = true; // nothing matches at 0 (see find_phrase)
        for (i, c) in text.char_indices() {
            if !prev_alnum {
                if let Some(&x) = b.get(i) {
                    if let Some(w) = p.first.get_mut(usize::from(x) >> 6) {
                        *w |= 1 << (x & 63);
                    }
                    let y = b.get(i + 1).copied().unwrap_or(0);
                    let k = pair_bit(x, y);
                    if let Some(w) = p.pair.get_mut(k >> 6) {
                        *w |= 1 << (k & 63);
                    }
                }
            }
            prev_alnum = text::is_letter_or_digit(c);
        }
        p
    }

    /// False when `phrase` cannot start at any word start.
    fn may_have(&self, phrase: &str) -> bool {
        let pb = phrase.as_bytes();
        let Some(&x) = pb.first() else { return true };
        if self.first.get(usize::from(x) >> 6).is_none_or(|w| w & (1 << (x & 63)) == 0) {
            return false;
        }
        match pb.get(1) {
            Some(&y) => {
                let k = pair_bit(x, y);
                self.pair.get(k >> 6).is_some_and(|w| w & (1 << (k & 63)) != 0)
            }
            None => true,
        }
    }
}

impl std::ops::Deref for Padded<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.text
    }
}

/// Byte position of `phrase` as whole words in `padded`.
pub(crate) fn find_phrase(padded: &Padded<'_>, phrase: &str) -> Option<usize> {
    if !padded.may_have(phrase) {
        return None;
    }
    let padded = padded.text;
    let mut from = 0;
    while let Some(rel) = padded.get(from..).and_then(|s| s.find(phrase)) {
        let pos = from + rel;
        let before = padded.get(..pos).and_then(|s| s.chars().next_back());
        let after = padded.get(pos + phrase.len()..).and_then(|s| s.chars().next());
        if before.is_some_and(|c| !text::is_letter_or_digit(c)) && after.is_some_and(|c| !text::is_letter_or_digit(c)) {
            return Some(pos);
        }
        from = pos + phrase.chars().next().map_or(1, char::len_utf8);
    }
    None
}
