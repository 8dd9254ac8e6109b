//! The conversational slots: name, email, preferred time, referral code, yes/no/change,
//! "talk to a person", corrections and the language of the message.

use serde::{Deserialize, Serialize};

use super::need::{has, Padded};
use super::words::Word;
use super::{Expecting, Extraction};
use crate::booking::{DayPart, DayPreference, PersonName, PreferredTime};
use crate::text;

/// A detail of the summary the homeowner can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotName {
    /// The problem / trade.
    Problem,
    /// Name.
    Name,
    /// Phone.
    Phone,
    /// Email.
    Email,
    /// Service address.
    Address,
    /// Preferred time.
    Time,
    /// The business the caller speaks for.
    Business,
}

/// An answer to a yes/no question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Yes, book it.
    Yes,
    /// No.
    No,
    /// Change something (which, if said).
    Change(Option<SlotName>),
}

/// Words that are never a first or last name.
const NOT_NAME: &str = "a|an|the|my|our|your|not|so|really|about|for|regarding|calling|just|very|in|at|on|with|\
    from|going|looking|trying|wondering|interested|here|there|urgent|emergency|yes|no|yeah|ok|okay|sure|hi|hello|\
    hey|thanks|thank|please|it|is|was|and|or|but|i|i'm|we|you|he|she|they|ac|heat|furnace|plumber|electrician|\
    roof|water|leak|leaking|broken|out|working|sorry|actually|hola|gracias|sí|bueno|buenos|buenas|hablar|persona|\
    call|phone|number|email|address|street|st|ave|change|wrong|correct|right|that|this|what|who|help|need|have|\
    has|can|could|would|will|to|of|be|been|get|got|still|also|too|all|good|great|fine|cold|hot|warm|home|house|\
    today|tomorrow|morning|afternoon|evening|asap|now|person|human|someone|representative|agent|book|it's|its|me|\
    la|el|mi|de|con|un|una|y|es|está|no|cambiar|teléfono|nombre|dirección|when|where|why|how|if|done|back|up|down|\
    smell|gas|sparks|flooding|time|day|nobody|somebody|anybody|everyone|everybody|someone|anyone|\
    first|second|third|last|next|tenant|owner|manager|landlord|renter|dueño|inquilino";

fn name_word(w: &Word) -> bool {
    let n = w.norm.as_str();
    !n.is_empty()
        && n.chars().all(|c| text::is_letter(c) || c == '\'' || c == '-' || c == '.')
        && n.chars().next().is_some_and(text::is_letter)
        && !text::listed(NOT_NAME, n)
        && !(n.len() >= 6 && n.ends_with("ing"))
        && n.chars().count() <= 24
}

fn person(ws: &[&Word]) -> Option<PersonName> {
    let fix = |w: &Word| {
        let raw = w.raw.trim_end_matches('.');
        if raw.chars().any(text::is_upper) {
            raw.to_string()
        } else {
            text::capitalize(raw)
        }
    };
    let (first, rest) = ws.split_first()?;
    let particle = |w: &Word| ["de", "la", "del", "van", "von", "da", "di", "le", "y"].contains(&w.raw.as_str());
    let last = rest.iter().map(|w| if particle(w) { w.raw.clone() } else { fix(w) }).collect::<Vec<_>>().join(" ");
    Some(PersonName { first: fix(first), last })
}

/// Up to three name words from `i`, stopping at a break.
fn name_from<'a>(ws: &'a [Word], i: usize, used: &[usize]) -> Vec<&'a Word> {
    let mut out = Vec::new();
    let mut k = i;
    while let Some(w) = ws.get(k) {
        // "Ana de la Cruz": particles only between name words.
        let particle = !out.is_empty()
            && ["de", "la", "del", "van", "von", "da", "di", "le", "y"].contains(&w.norm.as_str())
            && ws.get(k + 1).is_some_and(|n| name_word(n) || n.norm == "la");
        if out.len() == 4 || used.contains(&k) || !(name_word(w) || particle) {
            break;
        }
        out.push(w);
        k += 1;
        if w.brk {
            break;
        }
    }
    out
}

const CUES: &[&[&str]] = &[
    &["my", "name", "is"],
    &["my", "name's"],
    &["my", "names"],
    &["name", "is"],
    &["name's"],
    &["names"],
    &["this", "is"],
    &["i'm"],
    &["i", "am"],
    &["me", "llamo"],
    &["mi", "nombre", "es"],
    &["soy"],
    &["name:"],
    &["name"],
    &["it's"],
    &["its"],
    &["it", "is"],
    &["call", "me"],
];

/// Words after "I'm" that say how or where the homeowner is, not who ("im home all
/// day", "i'm pretty sure"): "im dave" is a name, these are not.
const NOT_AFTER_IM: &str = "sure|home|afraid|worried|available|free|busy|new|located|stuck|sick|tired|away|pretty|\
    told|glad|happy|unable|able|concerned|scared|currently|usually|only|off|renting|outside|inside|upstairs|\
    downstairs|local|nearby|near|close|retired|disabled|elderly|alone|pregnant|desperate|frustrated|confused|\
    stressed|ready|sorry|fine|good|well|late|early|gone|leaving|back|calling|writing|texting|interested|the|\
    el|la|de|del|un|una|nuevo|nueva|dueño|dueña|inquilino|inquilina";

/// Greetings that may come before "it's dave" / "dave here".
const GREETING: &str = "hi|hey|hello|hola|yo|morning|buenas|good";

/// Where a cue may start: at the beginning, after a greeting, or after a break.
fn opens_phrase(ws: &[Word], k: usize) -> bool {
    let Some(p) = k.checked_sub(1).and_then(|p| ws.get(p)) else { return true };
    p.brk || (k <= 2 && text::listed(GREETING, &p.norm))
}

/// The words a cue ("my name is", "soy") introduces, if they read as a name: name words
/// that end at a break, the end, or a word that is clearly not a name ("i'm at 4417…",
/// "this is urgent" are not names).
fn after_cue<'a>(
    ws: &'a [Word],
    cue: &[&str],
    k: usize,
    expecting: Expecting,
    used: &[usize],
) -> Option<Vec<&'a Word>> {
    let first = cue.first().copied().unwrap_or("");
    let im = matches!(first, "i'm" | "i");
    // "it's …", "call me …", "name …": only when we asked, or right after a greeting
    // ("hey its mike").
    let weak = matches!(first, "it's" | "its" | "it" | "call" | "name");
    if weak && expecting != Expecting::Name && !(first != "name" && k > 0 && opens_phrase(ws, k) && k <= 2) {
        return None;
    }
    let start = k + cue.len();
    let words = name_from(ws, start, used);
    let end = start + words.len();
    let clean_end = ws.get(end).is_none_or(|w| !name_word(w)) || words.last().is_some_and(|w| w.brk);
    if words.is_empty() || !clean_end {
        return None;
    }
    if im && expecting != Expecting::Name {
        // "im dave at 22 oak st": one word is a name unless it says how they are.
        let said = words.first().map_or("", |w| w.norm.as_str());
        if text::listed(NOT_AFTER_IM, said) || !opens_phrase(ws, k) {
            return None;
        }
    }
    Some(words)
}

/// "dave here", "Rosa Diaz here." at the start of a message or after a greeting.
fn here_intro<'a>(ws: &'a [Word], used: &[usize]) -> Option<Vec<&'a Word>> {
    let at = ws.iter().position(|w| w.norm == "here")?;
    let here = ws.get(at)?;
    let after = ws.get(at + 1);
    if !(here.brk || after.is_none_or(|w| text::listed(NOT_NAME, &w.norm))) {
        return None;
    }
    let start = usize::from(ws.first().is_some_and(|w| text::listed(GREETING, &w.norm) && !w.brk && at > 1));
    let words = name_from(ws, start, used);
    (!words.is_empty() && words.len() <= 2 && start + words.len() == at && opens_phrase(ws, start)).then_some(words)
}

/// "my name is …", "me llamo …": the words that say a name is coming, whatever else the
/// message says.
pub(super) fn said_as_name(padded: &Padded<'_>) -> bool {
    [" name is ", " name's ", " names ", " me llamo ", " mi nombre es ", " call me "].iter().any(|c| padded.contains(c))
}

pub(super) fn name(
    ws: &[Word],
    padded: &Padded<'_>,
    expecting: Expecting,
    ex: &Extraction,
    used: &[usize],
) -> Option<PersonName> {
    let _ = padded;
    // A cue: "my name is …", "this is …", "soy …"; "it's …" only when we asked.
    for cue in CUES {
        for k in 0..ws.len() {
            let hit = cue.iter().enumerate().all(|(j, c)| ws.get(k + j).is_some_and(|w| w.norm == *c));
            if !hit {
                continue;
            }
            if let Some(words) = after_cue(ws, cue, k, expecting, used) {
                return person(&words);
            }
        }
    }
    if let Some(words) = here_intro(ws, used) {
        return person(&words);
    }
    if expecting == Expecting::Name {
        // "Robinson, Dan"
        if let (Some(a), Some(b)) = (ws.first(), ws.get(1)) {
            if a.brk && name_word(a) && name_word(b) && ws.len() <= 3 {
                let mut first = vec![b];
                if let Some(c) = ws.get(2).filter(|c| name_word(c)) {
                    first.push(c);
                }
                let p = person(&first)?;
                let last = person(&[a])?.first;
                let first_name = if p.last.is_empty() { p.first } else { format!("{} {}", p.first, p.last) };
                return Some(PersonName { first: first_name, last });
            }
        }
        let words = name_from(ws, 0, used);
        let end = words.len();
        if !words.is_empty() && (ws.get(end).is_none_or(|w| !name_word(w)) || words.last().is_some_and(|w| w.brk)) {
            return person(&words);
        }
        return None;
    }
    // Anything else: a phrase of two or three capitalized words on its own
    // ("Maria Gonzalez, 612-555-0143, …"), unless it is the city.
    let mut start = 0;
    while start < ws.len() {
        let mut end = start;
        while let Some(w) = ws.get(end) {
            end += 1;
            if w.brk {
                break;
            }
        }
        let mut seg = ws.get(start..end).unwrap_or(&[]);
        // "Dan Robinson 952-555-0199": the name words before the phone.
        if let Some(cut) = seg.iter().position(|w| !name_word(w)) {
            if used.contains(&(start + cut)) {
                seg = seg.get(..cut).unwrap_or(&[]);
            }
        }
        let caps = seg.iter().all(|w| w.raw.chars().next().is_some_and(text::is_upper) && name_word(w));
        let text = seg.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ");
        let is_city = ex.address.city.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(&text));
        if (2..=3).contains(&seg.len()) && caps && !is_city && ex.trade.is_none_or(|_| true) {
            let refs: Vec<&Word> = seg.iter().collect();
            return person(&refs);
        }
        start = end;
    }
    None
}

/// Words that make a phrase a business's name ("Northside Dental", "Rosa's Deli",
/// "Oak Street Apartments").
const BUSINESS_WORDS: &str = "dental|dentist|dentistry|orthodontics|clinic|medical|deli|restaurant|cafe|café|coffee|\
    bakery|bar|pub|grill|pizza|pizzeria|diner|kitchen|bistro|tavern|cantina|taqueria|brewery|brewing|foods|market|\
    grocery|shop|store|salon|spa|barbershop|gym|fitness|church|school|academy|daycare|office|offices|hotel|motel|inn|\
    apartments|apts|properties|property|management|mgmt|realty|group|llc|inc|co|corp|company|associates|partners|\
    services|svcs|center|centre|plaza|mall|warehouse|plant|factory|studio|bank|pharmacy|auto|motors|garage|law|\
    insurance|vet|veterinary|hospital|chiropractic|boutique|cleaners|laundromat|laundry|liquor|condos|hoa|\
    association|assn|restaurante|tienda|clínica|clinica|oficina|panadería|panaderia|taller|iglesia|escuela|salón";

/// Where a business is named: "Lena from Northside Dental", "calling for Rosa's Deli".
const BUSINESS_CUES: &str = "from|with|at|for|de|del";

/// A business's name after a cue ("this is Lena from Northside Dental"): up to five
/// words to a break or the end, with a business word in them.
pub(super) fn business(ws: &[Word]) -> Option<String> {
    for (k, w) in ws.iter().enumerate() {
        if w.brk || !text::listed(BUSINESS_CUES, &w.norm) {
            continue;
        }
        let mut words = Vec::new();
        for n in ws.iter().skip(k + 1).take(5) {
            let ok = n.norm.chars().next().is_some_and(|c| text::is_letter(c) || c.is_ascii_digit() || c == '&')
                && !text::listed("the|my|our|a|an|la|el|mi|nuestro|nuestra", &n.norm);
            if !ok {
                break;
            }
            words.push(n);
            if n.brk {
                break;
            }
        }
        // The phrase ends on its business word ("Northside Dental, our AC…"), so "from
        // the store" or "at 22 Oak St" are not names.
        let last = words.iter().rposition(|n| text::listed(BUSINESS_WORDS, n.norm.trim_end_matches('.')));
        if let Some(last) = last {
            let phrase = words.get(..=last).unwrap_or(&[]);
            let raw = phrase.iter().map(|n| n.raw.as_str()).collect::<Vec<_>>().join(" ");
            if phrase.len() >= 2 || phrase.first().is_some_and(|n| n.raw.chars().next().is_some_and(text::is_upper)) {
                return Some(business_name(&raw));
            }
        }
    }
    None
}

/// Said of the place: it is a business or a managed property, named or not.
const COMMERCIAL: &str = "our deli|our restaurant|our store|our shop|our office|our building|our warehouse|our church|\
    our school|our salon|our clinic|our cafe|our bar|our bakery|our business|our kitchen|my deli|my restaurant|my store|\
    my business|my salon|my clinic|my cafe|my bakery|i manage|we manage|property manager|property management|\
    building manager|manage the building|manage a building|landlord|tenant in|tenants|my tenant|our tenant|\
    commercial|rooftop unit|walk-in|walk in cooler|walk in freezer|reach-in|ice machine|mi negocio|nuestro negocio|\
    mi tienda|nuestra tienda|mi restaurante|nuestro restaurante|nuestra oficina|administro|el edificio|inquilino";

pub(super) fn commercial(padded: &Padded<'_>) -> bool {
    has(padded, COMMERCIAL)
}

/// Said when asked for the business's name and there is none.
const NO_BUSINESS: &str = "none|no|nope|n/a|na|home|house|residential|residence|just me|personal|private|my home|\
    my house|ninguno|ninguna|casa|mi casa|particular|no hay|not a business|no business";

/// The answer to "what's the name of the business?": their words without "it's",
/// unless they say there is none.
pub(super) fn business_answer(ws: &[Word], padded: &Padded<'_>) -> Option<String> {
    if has(padded, NO_BUSINESS) && ws.len() <= 4 {
        return None;
    }
    const LEAD: &str = "it's|its|it|is|called|we're|we|are|this|the|name|es|se|llama|somos|it's called";
    let skip = ws.iter().take_while(|w| text::listed(LEAD, &w.norm)).count();
    let raw = ws.iter().skip(skip).map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ");
    (!raw.trim().is_empty()).then(|| business_name(&raw))
}

/// A business name as typed: "northside dental" → "Northside Dental"; "ACME Co" kept.
pub(crate) fn business_name(t: &str) -> String {
    let t = t.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
    let t = t.trim_end_matches(['.', '!', ',', '?']);
    if t.chars().any(text::is_upper) {
        return t.to_string();
    }
    t.split(' ').map(text::capitalize).collect::<Vec<_>>().join(" ")
}

pub(super) fn email(ws: &[Word]) -> Option<String> {
    for (i, w) in ws.iter().enumerate() {
        let n = w.norm.trim_end_matches('.');
        if let Some((user, domain)) = n.split_once('@') {
            let ok_user = !user.is_empty() && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._%+-'".contains(&b));
            let ok_domain = domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if ok_user && ok_domain {
                return Some(n.to_string());
            }
        }
        // Spoken: "maria at gmail dot com".
        if w.norm == "at" || w.norm == "arroba" {
            let user = i.checked_sub(1).and_then(|p| ws.get(p));
            let (dom, dot, tld) = (ws.get(i + 1), ws.get(i + 2), ws.get(i + 3));
            if let (Some(u), Some(d), Some(dot), Some(t)) = (user, dom, dot, tld) {
                let alnum =
                    |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                if (dot.norm == "dot" || dot.norm == "punto")
                    && ["com", "net", "org", "edu", "gov", "us", "io", "co"].contains(&t.norm.as_str())
                    && alnum(&u.norm)
                    && alnum(&d.norm)
                {
                    return Some(format!("{}@{}.{}", u.norm, d.norm, t.norm));
                }
            }
        }
    }
    None
}

/// Said when asked "when?": any time will do, so the first opening.
const ANY_TIME: &str = "any time|anytime|any day|whenever|no preference|doesn't matter|does not matter|\
    first available|earliest|soon|either|flexible|cuando sea|cualquier día|cualquier dia|cualquier hora|\
    cuando puedan|lo más pronto|lo mas pronto|pronto|me da igual";

/// `answering`: the message answers "when would you like us to come?", so loose
/// answers ("any time", "after 3") count too.
pub(super) fn preferred_time(padded: &Padded<'_>, answering: bool) -> Option<PreferredTime> {
    let mut t = PreferredTime::default();
    const DAYS: [&str; 7] = [
        "monday|mon|lunes",
        "tuesday|tue|tues|martes",
        "wednesday|wed|miércoles|miercoles",
        "thursday|thu|thur|thurs|jueves",
        "friday|fri|viernes",
        "saturday|sat|sábado|sabado",
        "sunday|domingo",
    ];
    let spanish_morning = has(padded, "la mañana|la manana");
    if has(padded, "asap|as soon as possible|right away|right now|soonest|lo antes posible|cuanto antes|ahora mismo|emergency|urgent") {
        t.day = Some(DayPreference::Asap);
    } else if has(padded, "today|tonight|this afternoon|this evening|this morning|hoy|esta tarde|esta noche") {
        t.day = Some(DayPreference::Today);
    } else if has(padded, "tomorrow|pasado") || (has(padded, "mañana|manana") && !spanish_morning) || has(padded, "mañana por|mañana en") {
        t.day = Some(DayPreference::Tomorrow);
    } else if let Some(d) = DAYS.iter().position(|names| has(padded, names)) {
        t.day = u8::try_from(d).ok().map(DayPreference::Weekday);
    }
    if has(padded, "morning|mornings|before noon|in the am|this morning|early|la mañana|la manana") {
        t.part = Some(DayPart::Morning);
    } else if has(padded, "afternoon|afternoons|after lunch|midday|la tarde|esta tarde|in the pm") {
        t.part = Some(DayPart::Afternoon);
    } else if has(padded, "evening|evenings|tonight|after work|after 5|la noche|esta noche") {
        t.part = Some(DayPart::Evening);
    } else {
        t.part = clock_part(padded, answering);
    }
    if answering && t.day.is_none() && t.part.is_none() && has(padded, ANY_TIME) {
        t.day = Some(DayPreference::Asap);
    }
    (t.day.is_some() || t.part.is_some()).then_some(t)
}

/// Part of the day from a clock time: "3pm", "10 am", and when answering also
/// "after 3", "around 10", "a las 4".
fn clock_part(padded: &Padded<'_>, answering: bool) -> Option<DayPart> {
    let mut prev = "";
    let mut it = padded.split(' ').filter(|w| !w.is_empty()).peekable();
    while let Some(w) = it.next() {
        let digits = w.bytes().take_while(u8::is_ascii_digit).count();
        let rest = w.get(digits..).unwrap_or("");
        let rest = rest.strip_prefix(':').map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
        let hour: Option<u32> =
            w.get(..digits).and_then(|d| d.parse().ok()).filter(|h| (1..=12).contains(h) && digits <= 2);
        let Some(h) = hour else {
            prev = w;
            continue;
        };
        let suffix = if rest.is_empty() { it.peek().copied().unwrap_or("") } else { rest };
        let part = match suffix.trim_end_matches('.') {
            "am" | "a.m" => (h != 12).then_some(DayPart::Morning),
            "pm" | "p.m" => Some(if h == 12 || h <= 4 { DayPart::Afternoon } else { DayPart::Evening }),
            _ if answering && rest.is_empty() => match prev {
                "after" | "at" | "around" | "by" | "las" | "from" => Some(match h {
                    7..=11 => DayPart::Morning,
                    12 | 1..=4 => DayPart::Afternoon,
                    _ => DayPart::Evening,
                }),
                "before" | "until" => Some(if h >= 8 { DayPart::Morning } else { DayPart::Afternoon }),
                _ => None,
            },
            _ => None,
        };
        if part.is_some() {
            return part;
        }
        prev = w;
    }
    None
}

pub(super) fn referral(ws: &[Word]) -> Option<String> {
    let cue = ["referral", "referred", "promo", "advocate", "coupon", "invite", "código", "codigo", "code", "referido"];
    for (i, w) in ws.iter().enumerate() {
        if !cue.contains(&w.norm.trim_end_matches(':')) {
            continue;
        }
        for cand in ws.iter().skip(i + 1).take(4) {
            let n = cand.norm.trim_start_matches('#');
            if ["code", "code:", "is", "es", "de", "by", "number", "referido", "referencia", ":", "#"].contains(&n) {
                continue;
            }
            let ok = (3..=20).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && (n.bytes().any(|b| b.is_ascii_digit()) || cand.raw.bytes().all(|b| !b.is_ascii_lowercase()));
            if ok {
                return Some(n.to_ascii_uppercase());
            }
            break;
        }
    }
    None
}

const YES: &str = "yes|yeah|yep|yup|sure|correct|confirm|confirmed|ok|okay|perfect|great|sounds good|looks good|\
    looks right|book it|go ahead|that's right|that's correct|all good|absolutely|please do|do it|sí|claro|\
    correcto|está bien|esta bien|dale|de acuerdo|exacto|perfecto|confirmo|bueno|y|yes please|affirmative|uh huh";
const NO: &str = "no|nope|nah|not quite|not right|that's wrong|wrong|incorrect|negative";
const CHANGE: &str = "change|edit|fix|update|wrong|incorrect|cambiar|corregir|cambia|cambio|modify|not right|\
    mistake|typo";

pub(super) fn slot_named(padded: &Padded<'_>) -> Option<SlotName> {
    if has(padded, "phone|number|cell|teléfono|telefono|número|numero|celular") {
        Some(SlotName::Phone)
    } else if has(padded, "email|correo") {
        Some(SlotName::Email)
    } else if has(padded, "business|company|empresa|negocio|compañía|compania") {
        Some(SlotName::Business)
    } else if has(padded, "name|nombre|spelling|spelled") {
        Some(SlotName::Name)
    } else if has(padded, "address|street|zip|apt|unit|city|dirección|direccion|calle") {
        Some(SlotName::Address)
    } else if has(padded, "time|day|date|when|window|hora|día|dia|fecha") {
        Some(SlotName::Time)
    } else if has(padded, "problem|issue|service|problema|servicio|trade") {
        Some(SlotName::Problem)
    } else {
        None
    }
}

pub(super) fn answer(ws: &[Word], padded: &Padded<'_>) -> Option<Answer> {
    let short = ws.len() <= 6;
    if has(padded, CHANGE) && short || has(padded, "change the|change my|cambiar el|cambiar la|cambiar mi") {
        return Some(Answer::Change(slot_named(padded)));
    }
    let first = ws.first()?;
    let lead = |list: &'static str| {
        text::entries(list).any(|p| {
            // Word by word, without joining the words into a string per phrase (every turn runs this).
            if !p.split(' ').zip(ws).all(|(part, w)| part == w.norm) {
                return false;
            }
            let n = p.split(' ').count();
            // "yes, …", "yes but …", "yes and my cell is …": the answer, then more.
            let then = || ws.get(n).is_some_and(|w| text::listed("but|and|pero|y|also|though|también", &w.norm));
            ws.len() >= n && (ws.len() <= n + 3 || then() || ws.get(n - 1).is_some_and(|w| w.brk))
        })
    };
    if lead(NO) {
        // "no, the phone is wrong" is a change; "no heat" is not an answer at all.
        return Some(match slot_named(padded) {
            Some(s) => Answer::Change(Some(s)),
            None => Answer::No,
        });
    }
    if lead(YES) || (short && first.norm == "yes") {
        return Some(Answer::Yes);
    }
    None
}

pub(super) fn wants_person(padded: &Padded<'_>) -> bool {
    let talk = has(padded, "talk|speak|connect|transfer|hablar|comunicar|put me through|get me");
    let someone = has(
        padded,
        "person|human|someone|somebody|representative|rep|agent|operator|live|real|persona|alguien|representante|\
        agente|dispatcher|office|manager",
    );
    (talk && someone) || has(padded, "real person|a human|representative|operator|live agent|representante|una persona|human please|person please")
}

pub(super) fn but(padded: &Padded<'_>) -> bool {
    has(padded, "but|except|however|although|also|pero|excepto|menos|sino|también|tambien")
}

pub(super) fn correction(padded: &Padded<'_>) -> bool {
    has(
        padded,
        "sorry|actually|i meant|correction|oops|my bad|wait|perdón|perdon|disculpa|en realidad|quise decir|instead",
    )
}
