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

/// Per emergency, its phrases (matched on whole words of the normalized text); the
/// first emergency with a phrase in the text wins.
const EMERGENCIES: [(Emergency, &str); 4] = [
    (Emergency::Gas, "smell gas|smell of gas|gas smell|smell like gas|gas leak|leaking gas|rotten eggs|olor a gas|\
        huele a gas|fuga de gas|smell natural gas"),
    (Emergency::CarbonMonoxide, "carbon monoxide|co alarm|co detector|co monitor|monóxido|monoxido"),
    (Emergency::Flooding, "flooding|flooded|flood|burst pipe|pipe burst|water everywhere|pipe broke|inundación|\
        inundado|inundada|inundando"),
    (Emergency::Sparks, "sparks|sparking|burning smell|smell burning|smell like burning|smoke|smoking|\
        electrical fire|chispas|olor a quemado|huele a quemado|humo"),
];

const HIGH: &str = "urgent|emergency|asap emergency|freezing|below zero|below 0|urgente|emergencia|no heat|\
    sin calefacción";

/// Per trade, "phrase=issue label" entries. Longer, more specific phrases come first:
/// the first phrase of the winning trade found in the text names the issue; every hit
/// votes for its trade.
const ISSUES: [(Trade, &str); 4] = [
    (
        Trade::Plumbing,
        "water heater=Water heater|hot water heater=Water heater|tankless=Water heater|no hot water=No hot water|\
        calentador de agua=Water heater|sin agua caliente=No hot water|burst pipe=Burst pipe|\
        pipe burst=Burst pipe|flooding=Flooding|flooded=Flooding|flood=Flooding|clogged drain=Clogged drain|\
        drain=Drain|clogged=Clog|clog=Clog|backed up=Backup|sewer=Sewer|toilet=Toilet|faucet=Faucet|sink=Sink|\
        garbage disposal=Garbage disposal|disposal=Garbage disposal|sump pump=Sump pump|shower=Shower|tub=Tub|\
        pipe=Pipe|pipes=Pipe|leak=Leak|leaking=Leak|leaks=Leak|dripping=Leak|water softener=Water softener|\
        plumber=Plumbing service|plumbing=Plumbing service|gas line=Gas line|fuga=Leak|plomero=Plumbing service|\
        plomería=Plumbing service|tubería=Pipe|tuberia=Pipe|inodoro=Toilet|baño=Toilet|drenaje=Drain|lavabo=Sink|\
        fregadero=Sink",
    ),
    (
        Trade::Roofing,
        "roof leak=Roof leak|roof leaking=Roof leak|leak in the ceiling=Roof leak|ceiling leak=Roof leak|\
        missing shingles=Missing shingles|shingles=Shingles|gutter=Gutters|gutters=Gutters|skylight=Skylight|\
        new roof=New roof|roof=Roof|roofer=Roof|roofing=Roof|gotera=Roof leak|techo=Roof|tejado=Roof",
    ),
    (
        Trade::Hvac,
        "heat pump=Heat pump|mini split=Mini split|no enfría=AC not cooling|no enfria=AC not cooling|\
        tune up=Tune-up|tune-up=Tune-up|maintenance=Maintenance|not cooling=AC not cooling|\
        stopped cooling=AC not cooling|warm air=AC not cooling|hot air=AC not cooling|no cold air=AC not cooling|\
        no heat=No heat|not heating=No heat|stopped heating=No heat|cold air=No heat|air conditioner=AC|\
        air conditioning=AC|aire acondicionado=AC|calefacción=No heat|calefaccion=No heat|ac=AC|hvac=HVAC service|\
        furnace=Furnace|boiler=Boiler|thermostat=Thermostat|ductwork=Ductwork|duct=Ductwork|ducts=Ductwork|\
        vents=Vents|compressor=AC|cooling=AC|heating=Heating|heater=Heating|heat=Heating|carbon monoxide=CO alarm|\
        co alarm=CO alarm|aire=AC|clima=AC",
    ),
    (
        Trade::Electrical,
        "ev charger=EV charger|panel upgrade=Panel upgrade|electrical panel=Electrical panel|no power=No power|\
        power out=No power|lost power=No power|breaker=Breaker tripping|breakers=Breaker tripping|outlet=Outlet|\
        outlets=Outlet|light switch=Light switch|switch=Switch|lights=Lights|flickering=Flickering lights|\
        wiring=Wiring|ceiling fan=Ceiling fan|generator=Generator|panel=Electrical panel|sparks=Sparks|\
        sparking=Sparks|burning smell=Burning smell|electrician=Electrical service|electrical=Electrical service|\
        electric=Electrical service|electricista=Electrical service|enchufe=Outlet|luz=No power|luces=Lights|\
        chispas=Sparks|eléctrico=Electrical service|electrico=Electrical service",
    ),
];

fn issues(list: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text::pairs(list)
}

const ESTIMATE: &str = "how much|quote|estimate|price|pricing|cost|costs|new|replace|replacement|replacing|install|\
    installation|installed|upgrade|cuánto|cuanto|cotización|cotizacion|presupuesto|nuevo|nueva|instalar|reemplazar";

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
    for (trade, list) in ISSUES {
        let t = trade as usize;
        for (phrase, _) in issues(list) {
            if let Some(pos) = find_phrase(padded, phrase) {
                if let Some(v) = votes.get_mut(t) {
                    *v += 1 + phrase.len() as u32 / 6;
                }
                if let Some(p) = first_pos.get_mut(t) {
                    *p = (*p).min(pos);
                }
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
        // The winner has votes, so one of its phrases is in the text.
        need.issue = ISSUES
            .iter()
            .filter(|(tr, _)| *tr as usize == t)
            .flat_map(|(_, list)| issues(list))
            .find(|(p, _)| find_phrase(padded, p).is_some())
            .map(|(_, l)| l.to_string());
    }
    if text::entries(ESTIMATE).any(|p| find_phrase(padded, p).is_some()) && need.trade.is_some() {
        need.kind = Some(VisitKind::Estimate);
    }
    if let Some((e, _)) = EMERGENCIES.iter().find(|(_, list)| text::entries(list).any(|p| find_phrase(padded, p).is_some())) {
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
    } else if text::entries(HIGH).any(|p| find_phrase(padded, p).is_some()) {
        let freezing = "freezing|below zero|below 0|frozen|baby|elderly|urgent|emergency|urgente|emergencia";
        if !padded.contains(" no heat ") || text::entries(freezing).any(|p| find_phrase(padded, p).is_some()) {
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
