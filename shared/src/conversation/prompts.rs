//! Everything the assistant says, in English and Spanish, for chat and for voice.
//!
//! Voice prompts are short and speakable: no URLs, no emoji, no symbols a speech
//! engine would read out, and phone numbers read back digit by digit.

use crate::booking::{Channel, Locale, Phone, Trade};
use crate::extract::{Emergency, PhoneProblem, SlotName};
use crate::text;

/// One thing the assistant says.
pub(crate) enum Msg<'a> {
    Greeting {
        business: &'a str,
    },
    AskProblem,
    AskTrade,
    TradeNotOffered {
        trade: Trade,
    },
    AskName {
        first_issue: Option<&'a str>,
    },
    /// "What's the best phone number…?", or with `known` (the phone the booking link
    /// carried) "Is (612) 555-0100 the best number…?", as the phone agent confirms the
    /// caller ID.
    AskPhone {
        first_name: &'a str,
        known: Option<&'a str>,
    },
    AskAddress,
    AskBusiness,
    /// A known detail replaced while another question was open.
    Changed {
        slot: SlotName,
        value: &'a str,
    },
    AskAddressRest {
        have_zip: bool,
        have_city: bool,
        have_state: bool,
    },
    PhoneInvalid {
        problem: PhoneProblem,
        offer_person: bool,
        office: &'a str,
    },
    NoPhoneHeard {
        offer_person: bool,
        office: &'a str,
    },
    Safety {
        emergency: Emergency,
    },
    OutOfArea {
        zip: &'a str,
        office: &'a str,
    },
    HandOff {
        office: &'a str,
        hours: &'a str,
    },
    Summary {
        lines: &'a [(SlotName, String)],
    },
    WhatToChange,
    AskAgain {
        slot: SlotName,
    },
    Booked {
        first_name: &'a str,
    },
    AfterEnd {
        office: &'a str,
    },
    WindowNoted,
    WindowNotOffered,
    CheckCard,
    ReplyBooked {
        window: &'a str,
        reference: &'a str,
    },
    ReplyReceived {
        reference: &'a str,
    },
    ReplyMoved {
        taken: &'a str,
        window: &'a str,
        reference: &'a str,
    },
    ReplyTaken {
        taken: &'a str,
        reference: &'a str,
    },
    /// When to come; `again` after an answer with no day or time in it.
    AskTime {
        again: bool,
    },
}

/// A phone number as people write it or as a voice should read it.
pub(crate) fn phone_text(phone: &Phone, channel: Channel, locale: Locale) -> String {
    match channel {
        Channel::Chat => phone.display(),
        Channel::Voice => {
            let d = phone.digits.as_str();
            let groups: Vec<String> =
                [d.get(0..3), d.get(3..6), d.get(6..)].iter().flatten().map(|g| digits_spoken(g, locale)).collect();
            let mut s = groups.join(", ");
            if let Some(x) = &phone.extension {
                s.push_str(if locale == Locale::Es { ", extensión " } else { ", extension " });
                s.push_str(&digits_spoken(x, locale));
            }
            s
        }
    }
}

/// The office phone (stored as digits in the site config) for a reply.
pub(crate) fn office_text(digits: &str, channel: Channel, locale: Locale) -> String {
    let only: String = digits.chars().filter(char::is_ascii_digit).collect();
    let only = if only.len() == 11 { only.get(1..).unwrap_or("").to_string() } else { only };
    phone_text(&Phone { digits: only, extension: None }, channel, locale)
}

fn digits_spoken(d: &str, locale: Locale) -> String {
    const EN: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    const ES: [&str; 10] = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"];
    let names = if locale == Locale::Es { ES } else { EN };
    d.bytes()
        .filter_map(|b| b.checked_sub(b'0').and_then(|i| names.get(usize::from(i))))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A trade in the homeowner's language.
pub(crate) fn trade_name(t: Trade, locale: Locale) -> &'static str {
    match (locale, t) {
        (Locale::En, Trade::Hvac) => "heating and cooling",
        (Locale::En, Trade::Plumbing) => "plumbing",
        (Locale::En, Trade::Electrical) => "electrical",
        (Locale::En, Trade::Roofing) => "roofing",
        (Locale::Es, Trade::Hvac) => "calefacción y aire acondicionado",
        (Locale::Es, Trade::Plumbing) => "plomería",
        (Locale::Es, Trade::Electrical) => "electricidad",
        (Locale::Es, Trade::Roofing) => "techos",
    }
}

/// A summary line's label in the conversation's language.
pub(crate) fn slot_label(s: SlotName, locale: Locale) -> &'static str {
    slot_label_es(s, locale == Locale::Es)
}

fn slot_label_es(s: SlotName, es: bool) -> &'static str {
    match (s, es) {
        (SlotName::Problem, false) => "Problem",
        (SlotName::Name, false) => "Name",
        (SlotName::Phone, false) => "Phone",
        (SlotName::Email, false) => "Email",
        (SlotName::Address, false) => "Address",
        (SlotName::Time, false) => "When",
        (SlotName::Business, false) => "Business",
        (SlotName::Business, true) => "Empresa",
        (SlotName::Problem, true) => "Problema",
        (SlotName::Name, true) => "Nombre",
        (SlotName::Phone, true) => "Teléfono",
        (SlotName::Email, true) => "Correo",
        (SlotName::Address, true) => "Dirección",
        (SlotName::Time, true) => "Cuándo",
    }
}

/// "the phone", "el teléfono": a detail as a sentence names it.
fn slot_noun(s: SlotName, es: bool) -> &'static str {
    match (s, es) {
        (SlotName::Problem, false) => "the problem",
        (SlotName::Name, false) => "the name",
        (SlotName::Phone, false) => "the phone",
        (SlotName::Email, false) => "the email",
        (SlotName::Address, false) => "the address",
        (SlotName::Time, false) => "the time",
        (SlotName::Business, false) => "the business",
        (SlotName::Problem, true) => "el problema",
        (SlotName::Name, true) => "el nombre",
        (SlotName::Phone, true) => "el teléfono",
        (SlotName::Email, true) => "el correo",
        (SlotName::Address, true) => "la dirección",
        (SlotName::Time, true) => "la hora",
        (SlotName::Business, true) => "el negocio",
    }
}

/// Quick-reply labels for "what should I change?".
pub(crate) fn change_choices(locale: Locale) -> Vec<String> {
    let es = locale == Locale::Es;
    [SlotName::Problem, SlotName::Name, SlotName::Phone, SlotName::Address, SlotName::Time]
        .iter()
        .map(|s| slot_label_es(*s, es).to_string())
        .collect()
}

/// Quick replies for the summary.
pub(crate) fn confirm_choices(locale: Locale) -> Vec<String> {
    match locale {
        Locale::En => vec!["Yes, book it".into(), "Change something".into()],
        Locale::Es => vec!["Sí, reservar".into(), "Cambiar algo".into()],
    }
}

/// Quick replies for "when would you like us to come?".
pub(crate) fn time_choices(locale: Locale) -> Vec<String> {
    match locale {
        Locale::En => vec!["As soon as possible".into(), "Tomorrow morning".into(), "Tomorrow afternoon".into()],
        Locale::Es => vec!["Lo antes posible".into(), "Mañana por la mañana".into(), "Mañana por la tarde".into()],
    }
}

/// Quick replies for "Is (612) 555-0100 the best number to reach you?".
pub(crate) fn known_phone_choices(locale: Locale) -> Vec<String> {
    let (yes, other) = other_number(locale == Locale::Es);
    vec![yes.into(), other.into()]
}

fn other_number(es: bool) -> (&'static str, &'static str) {
    if es {
        ("Sí", "Usar otro número")
    } else {
        ("Yes", "Use another number")
    }
}

/// Quick reply that asks for a person.
pub(crate) fn person_choice(locale: Locale) -> String {
    match locale {
        Locale::En => "Talk to a person".into(),
        Locale::Es => "Hablar con una persona".into(),
    }
}

pub(crate) fn say(msg: &Msg<'_>, locale: Locale, channel: Channel) -> String {
    let es = locale == Locale::Es;
    let voice = channel == Channel::Voice;
    match msg {
        Msg::Greeting { business } => match es {
            false => format!("Hi! This is {business}. What can we help you with today?"),
            true => format!("¡Hola! Le atiende {business}. ¿En qué le podemos ayudar hoy?"),
        },
        Msg::AskProblem => pick(es, "What's going on? Tell me the problem in a few words.", "¿Qué problema tiene? Cuénteme en pocas palabras."),
        Msg::AskTrade => pick(
            es,
            "Got it. Is this for heating and cooling, plumbing, electrical or roofing?",
            "Entendido. ¿Es de calefacción y aire, plomería, electricidad o techos?",
        ),
        Msg::TradeNotOffered { trade } => match es {
            false => format!("Sorry, we don't do {} work. Is there anything else we can help with?", trade_name(*trade, locale)),
            true => format!("Lo siento, no hacemos trabajos de {}. ¿Le podemos ayudar con otra cosa?", trade_name(*trade, locale)),
        },
        Msg::AskName { first_issue } => match (es, first_issue) {
            (false, Some(issue)) => format!("Sorry to hear about the {}. We can get someone out. What's your name?", lower_first(issue)),
            (false, None) => "What's your name?".into(),
            (true, _) => "Con gusto le ayudamos. ¿Cuál es su nombre?".into(),
        },
        Msg::AskPhone { first_name, known } => {
            let ask = match known {
                Some(phone) => best_number(phone, es),
                None => pick(es, "What's the best phone number to reach you?", "¿A qué número le podemos llamar?"),
            };
            let mut s = match (es, first_name.is_empty()) {
                (_, true) => ask,
                (false, false) => format!("Thanks, {first_name}. {ask}"),
                (true, false) => format!("Gracias, {first_name}. {ask}"),
            };
            if voice && known.is_none() {
                // On the phone the number can be keyed on the pad.
                s.push_str(if es { " Puede decirlo o marcarlo." } else { " You can say it or key it in." });
            }
            s
        }
        Msg::AskAddress => pick(
            es,
            if voice { "What's the address where you need the service, with the ZIP code?" } else { "What's the service address? Street, city and ZIP." },
            if voice { "¿Cuál es la dirección del servicio, con el código postal?" } else { "¿Cuál es la dirección del servicio? Calle, ciudad y código postal." },
        ),
        Msg::AskBusiness => pick(es, "What's the name of the business or property?", "¿Cómo se llama el negocio o la propiedad?"),
        Msg::Changed { slot, value } => {
            let what = slot_noun(*slot, es);
            if es { format!("Entendido, cambié {what} a {value}.") } else { format!("Got it, I changed {what} to {value}.") }
        }
        Msg::AskAddressRest { have_zip, have_city, have_state } => {
            let mut need = Vec::new();
            if !have_city {
                need.push(if es { "la ciudad" } else { "city" });
            }
            if !have_state {
                need.push(if es { "el estado" } else { "state" });
            }
            if !have_zip {
                need.push(if es { "el código postal" } else { "ZIP code" });
            }
            let list = join_and(&need, es);
            if es { format!("¿Y {list}?") } else { format!("And the {list}?") }
        }
        Msg::PhoneInvalid { problem, offer_person, office } => {
            let why = match (problem, es) {
                (PhoneProblem::MissingAreaCode, false) => "That number is missing the area code.",
                (PhoneProblem::WrongLength, false) => "That doesn't look like a 10-digit US phone number.",
                (PhoneProblem::NotAUsNumber, false) => "That isn't a valid US number: area codes and exchanges don't start with 0 or 1.",
                (PhoneProblem::MissingAreaCode, true) => "A ese número le falta el código de área.",
                (PhoneProblem::WrongLength, true) => "Eso no parece un número de 10 dígitos de EE. UU.",
                (PhoneProblem::NotAUsNumber, true) => "Ese número no es válido en EE. UU.: el código de área no empieza con 0 ni 1.",
            };
            let ask = pick(es, "What's the full number, with area code?", "¿Cuál es el número completo, con código de área?");
            with_person(format!("{why} {ask}"), *offer_person, office, es)
        }
        Msg::NoPhoneHeard { offer_person, office } => with_person(
            pick(es, "I didn't catch a phone number. What's the best number, with area code?", "No entendí el número. ¿Cuál es, con código de área?"),
            *offer_person,
            office,
            es,
        ),
        Msg::Safety { emergency } => match (emergency, es) {
            (Emergency::Gas, false) => "Safety first: if you smell gas, leave the house now. Don't use light switches, phones or flames inside. From outside, call 911 or your gas utility's emergency line. Then we'll get a technician out as a priority.".into(),
            (Emergency::CarbonMonoxide, false) => "Safety first: if your carbon monoxide alarm is going off, get everyone out into fresh air now and call 911 from outside. Don't go back in until responders say it's safe. Then we'll get a technician out as a priority.".into(),
            (Emergency::Flooding, false) => "Safety first: stay out of standing water near outlets or appliances. If you can reach it safely, shut off the main water valve. If water is near your electrical panel, leave the house and call 911 from outside. We'll get someone out as a priority.".into(),
            (Emergency::Sparks, false) => "Safety first: stay away from the sparks or burning smell. If it's safe, switch off that breaker. If you see smoke or fire, leave the house and call 911 from outside. We'll get an electrician out as a priority.".into(),
            (Emergency::Gas, true) => "Primero su seguridad: si huele a gas, salga de la casa ahora. No use interruptores, teléfonos ni llamas adentro. Desde afuera, llame al 911 o a la compañía de gas. Luego enviaremos un técnico con prioridad.".into(),
            (Emergency::CarbonMonoxide, true) => "Primero su seguridad: si suena la alarma de monóxido de carbono, salgan todos al aire libre ahora y llame al 911 desde afuera. Luego enviaremos un técnico con prioridad.".into(),
            (Emergency::Flooding, true) => "Primero su seguridad: no pise agua cerca de enchufes o aparatos. Si puede hacerlo sin riesgo, cierre la llave principal del agua. Si el agua está cerca del panel eléctrico, salga de la casa y llame al 911 desde afuera. Enviaremos a alguien con prioridad.".into(),
            (Emergency::Sparks, true) => "Primero su seguridad: aléjese de las chispas o del olor a quemado. Si es seguro, apague ese interruptor. Si ve humo o fuego, salga de la casa y llame al 911 desde afuera. Enviaremos un electricista con prioridad.".into(),
        },
        Msg::OutOfArea { zip, office } => match es {
            false => format!("Sorry, we don't serve ZIP {zip}. Please call our office at {office} and we'll point you to someone who can help. If the service address is somewhere else, tell me that address."),
            true => format!("Lo siento, no damos servicio en el código postal {zip}. Llame a nuestra oficina al {office} y le recomendaremos a alguien. Si la dirección es otra, dígamela."),
        },
        Msg::HandOff { office, hours } => match es {
            false => format!("Of course. Please call our office at {office}. We're open {hours}."),
            true => format!("Claro. Llame a nuestra oficina al {office}. Horario: {hours}."),
        },
        Msg::Summary { lines } => {
            if voice {
                let get = |s: SlotName| lines.iter().find(|(k, _)| *k == s).map(|(_, v)| v.as_str()).unwrap_or("");
                let when = lines.iter().find(|(k, _)| *k == SlotName::Time).map(|(_, v)| v.as_str());
                let (p, n, ph) = (get(SlotName::Problem), get(SlotName::Name), get(SlotName::Phone));
                let a = &spoken_address(get(SlotName::Address), locale);
                match (es, when) {
                    (false, Some(w)) => format!("Let me check. {p}, at {a}, {w}. Name {n}, phone {ph}. Shall I book it?"),
                    (false, None) => format!("Let me check. {p}, at {a}. Name {n}, phone {ph}. Shall I book it?"),
                    (true, Some(w)) => format!("Confirmo. {p}, en {a}, {w}. Nombre {n}, teléfono {ph}. ¿Lo reservo?"),
                    (true, None) => format!("Confirmo. {p}, en {a}. Nombre {n}, teléfono {ph}. ¿Lo reservo?"),
                }
            } else {
                let mut s = pick(es, "Here's what I have:", "Esto es lo que tengo:");
                for (k, v) in lines.iter() {
                    s.push_str(&format!("\n- {}: {}", slot_label_es(*k, es), v));
                }
                s.push('\n');
                s.push_str(if es { "¿Lo reservo?" } else { "Shall I book it?" });
                s
            }
        }
        Msg::WhatToChange => pick(es, "Sure. What should I change: problem, name, phone, address or time?", "Claro. ¿Qué cambio: problema, nombre, teléfono, dirección u hora?"),
        Msg::AskAgain { slot } => match (slot, es) {
            (SlotName::Problem, false) => "Okay. What's the problem?".into(),
            (SlotName::Name, false) => "Okay. What name should I use?".into(),
            (SlotName::Phone, false) => "Okay. What's the right phone number?".into(),
            (SlotName::Email, false) => "Okay. What's the right email?".into(),
            (SlotName::Address, false) => "Okay. What's the right service address?".into(),
            (SlotName::Time, false) => "Okay. When works best for you? For example, tomorrow morning.".into(),
            (SlotName::Problem, true) => "Bien. ¿Cuál es el problema?".into(),
            (SlotName::Name, true) => "Bien. ¿Qué nombre uso?".into(),
            (SlotName::Phone, true) => "Bien. ¿Cuál es el número correcto?".into(),
            (SlotName::Email, true) => "Bien. ¿Cuál es el correo correcto?".into(),
            (SlotName::Address, true) => "Bien. ¿Cuál es la dirección correcta?".into(),
            (SlotName::Time, true) => "Bien. ¿Cuándo le conviene? Por ejemplo, mañana por la mañana.".into(),
            (SlotName::Business, false) => "Okay. What's the name of the business?".into(),
            (SlotName::Business, true) => "Bien. ¿Cómo se llama el negocio?".into(),
        },
        Msg::Booked { first_name } => match es {
            false => format!("You're all set, {first_name}. We've got your request and the office will confirm your arrival window shortly."),
            true => format!("Listo, {first_name}. Recibimos su solicitud y la oficina le confirmará el horario de llegada en breve."),
        },
        Msg::AfterEnd { office } => match es {
            false => format!("Your request is in. For anything else, call our office at {office}."),
            true => format!("Su solicitud ya está registrada. Para otra cosa, llame a la oficina al {office}."),
        },
        Msg::AskTime { again } => match (es, voice, again) {
            (false, false, false) => "When would you like us to come?".into(),
            (false, true, false) => "When should we come?".into(),
            (false, false, true) => "Sorry, I didn't catch a day. When would you like us to come? For example, tomorrow morning, or as soon as possible.".into(),
            (false, true, true) => "Sorry, what day works? For example, tomorrow morning, or as soon as possible.".into(),
            (true, false, false) => "¿Cuándo le gustaría que vayamos?".into(),
            (true, true, false) => "¿Cuándo quiere que vayamos?".into(),
            (true, false, true) => "Perdón, no entendí el día. ¿Cuándo le gustaría que vayamos? Por ejemplo, mañana por la mañana, o lo antes posible.".into(),
            (true, true, true) => "Perdón, ¿qué día le conviene? Por ejemplo, mañana por la mañana, o lo antes posible.".into(),
        },
        Msg::WindowNoted => pick(es, "Got it, I've noted that arrival window.", "Anotado ese horario de llegada."),
        Msg::WindowNotOffered => pick(
            es,
            "Sorry, that arrival window isn't available. Please pick one of the windows shown, or leave it to the office.",
            "Lo siento, ese horario no está disponible. Elija uno de los horarios que se muestran, o deje que la oficina lo elija.",
        ),
        Msg::CheckCard => pick(es, "Please check the details and tap Book it.", "Revise los datos y toque Reservar."),
        Msg::ReplyBooked { window, reference } => match es {
            false => format!("You're booked for {window}. Your confirmation number is {reference}. We'll text or call if anything changes."),
            true => format!("Su cita está reservada para {window}. Su número de confirmación es {reference}. Le avisaremos si algo cambia."),
        },
        Msg::ReplyReceived { reference } => match es {
            false => format!("We have your request. Your confirmation number is {reference}. Our office will call you to schedule the visit."),
            true => format!("Recibimos su solicitud. Su número de confirmación es {reference}. La oficina le llamará para programar la visita."),
        },
        Msg::ReplyMoved { taken, window, reference } => match es {
            false => format!("{taken} was just taken, so you're booked for {window} instead. Your confirmation number is {reference}. We'll text or call if anything changes."),
            true => format!("El horario {taken} se acaba de ocupar, así que su cita es {window}. Su número de confirmación es {reference}. Le avisaremos si algo cambia."),
        },
        Msg::ReplyTaken { taken, reference } => match es {
            false => format!("{taken} was just taken. We have your request; your confirmation number is {reference}, and our office will call you to pick another time."),
            true => format!("El horario {taken} se acaba de ocupar. Recibimos su solicitud; su número de confirmación es {reference}, y la oficina le llamará para elegir otra hora."),
        },
    }
}

/// "Water heater" → "water heater", but "AC not cooling" stays.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), c.next()) {
        (Some(a), Some(b)) if text::is_upper(a) && !text::is_upper(b) => {
            let mut out = String::with_capacity(s.len());
            text::push_lower(&mut out, a);
            out.push_str(s.get(a.len_utf8()..).unwrap_or(""));
            out
        }
        _ => s.to_string(),
    }
}

/// "Is (612) 555-0100 the best number to reach you?": the caller ID on the phone, the
/// booking link's phone in chat.
fn best_number(phone: &str, es: bool) -> String {
    match es {
        false => format!("Is {phone} the best number to reach you?"),
        true => format!("¿Es el {phone} el mejor número para comunicarnos con usted?"),
    }
}

fn pick(es: bool, en: &str, sp: &str) -> String {
    if es {
        sp.to_string()
    } else {
        en.to_string()
    }
}

fn with_person(s: String, offer: bool, office: &str, es: bool) -> String {
    if !offer {
        return s;
    }
    if es {
        format!("{s} Si prefiere, hable con una persona: llame al {office}.")
    } else {
        format!("{s} If you'd rather talk to a person, call our office at {office}.")
    }
}

fn join_and(items: &[&str], es: bool) -> String {
    match items {
        [] => String::new(),
        [a] => (*a).to_string(),
        [rest @ .., last] => format!("{} {} {}", rest.join(", "), if es { "y" } else { "and" }, last),
    }
}

/// What the phone agent says around the conversation (`crate::voice::call`): the
/// disclosure, the language offer, the caller-ID check, silences, transfers, the booking's
/// read-back. Speakable only: numbers as digit words, no symbols.
pub(crate) enum VoiceLine<'a> {
    /// The first words: an automated assistant for the business (some states require
    /// it), the recording notice when the site records, the Spanish offer.
    Greeting { business: &'a str, offer_spanish: bool, recorded: bool },
    /// The caller chose this language: greet again in it.
    LanguageChosen { business: &'a str },
    /// The caller switched language mid-call: the question follows.
    LanguageSwitched,
    /// "Is six one two, five five five, zero one zero zero the best number to reach you?"
    ConfirmCallerId { phone: &'a str },
    /// The caller said the caller ID is not the number to use.
    AskOtherPhone,
    /// A keyed house number: ask for the street.
    AskStreet { number: &'a str },
    /// Nothing heard, or nothing understood (once).
    NotHeard,
    /// Twice in a row: offer a person or a text with the booking link.
    OfferHelp { can_text: bool },
    /// The caller accepted the text.
    TextingLink,
    /// Transferring to a person.
    Connecting,
    /// An emergency: transferring to the on-call line after the safety words.
    ConnectingEmergency,
    /// The transfer was not answered: take the booking instead.
    NoAnswer,
    /// The emergency transfer was not answered.
    NoAnswerEmergency,
    /// No number to transfer to (a site configuration problem): the office number.
    CannotTransfer { office: &'a str },
    /// The booking is in with this window ("Tuesday, November 25, 8 AM to 12 PM").
    BookedFor { window: &'a str, reference: &'a str },
    /// The booking is in; the office will call to schedule.
    Received { reference: &'a str },
    /// The booking is being put in (said while the worker books).
    OneMoment,
    /// The call went on too long for the assistant: a person takes it.
    TooLong,
    /// The last words.
    Goodbye { business: &'a str },
}

pub(crate) fn voice_line(line: &VoiceLine<'_>, locale: Locale) -> String {
    let es = locale == Locale::Es;
    match line {
        VoiceLine::Greeting { business, offer_spanish, recorded } => {
            let mut s = if es {
                format!("Hola, gracias por llamar a {business}. Le atiende un asistente automático y le puedo ayudar a programar una visita.")
            } else {
                format!("Hi, thanks for calling {business}. You're speaking with an automated assistant, and I can help you book a visit.")
            };
            if *recorded {
                s.push_str(if es { " Esta llamada se graba." } else { " This call is recorded." });
            }
            if *offer_spanish && !es {
                s.push_str(" Para español, diga español u oprima el dos.");
            }
            s.push_str(if es { " ¿En qué le podemos ayudar hoy?" } else { " What can we help you with today?" });
            s
        }
        VoiceLine::LanguageChosen { business } => match es {
            true => format!("Con gusto. Le atiende el asistente automático de {business}. ¿En qué le podemos ayudar hoy?"),
            false => format!("Sure. You're speaking with {business}'s automated assistant. What can we help you with today?"),
        },
        VoiceLine::LanguageSwitched => pick(es, "Sure, let's continue in English.", "Claro, seguimos en español."),
        VoiceLine::ConfirmCallerId { phone } => best_number(phone, es),
        VoiceLine::AskOtherPhone => pick(
            es,
            // Not "the best number to reach you?" again: that is the caller-ID question.
            "Okay. Which number should we use? You can say it or key it in.",
            "Bien. ¿A qué número le podemos llamar? Puede decirlo o marcarlo.",
        ),
        VoiceLine::AskStreet { number } => match es {
            true => format!("Anotado, el número {number}. ¿Y la calle, con el código postal?"),
            false => format!("Got it, number {number}. And the street name, with the ZIP code?"),
        },
        VoiceLine::NotHeard => pick(es, "Sorry, I didn't catch that.", "Perdón, no le entendí."),
        VoiceLine::OfferHelp { can_text } => match (es, can_text) {
            (false, true) => "I'm sorry, I'm having trouble understanding. I can connect you to our office, or text you a link to book online. Say connect me or press one, or say text me or press two.".into(),
            (false, false) => "I'm sorry, I'm having trouble understanding. I can connect you to our office. Say connect me or press one.".into(),
            (true, true) => "Disculpe, no le estoy entendiendo bien. Le puedo comunicar con la oficina, o enviarle un mensaje de texto con un enlace para reservar. Diga comunicar u oprima uno, o diga mensaje u oprima dos.".into(),
            (true, false) => "Disculpe, no le estoy entendiendo bien. Le puedo comunicar con la oficina. Diga comunicar u oprima uno.".into(),
        },
        VoiceLine::TextingLink => pick(
            es,
            "I'll text you a link to book online right now.",
            "Le envío ahora un mensaje de texto con un enlace para reservar en línea.",
        ),
        VoiceLine::Connecting => pick(es, "Of course. I'm connecting you to our office now.", "Claro. Le comunico con la oficina ahora."),
        VoiceLine::ConnectingEmergency => pick(
            es,
            "I'm connecting you to our on-call team right now. Please stay on the line.",
            "Le comunico ahora con nuestro equipo de guardia. Por favor no cuelgue.",
        ),
        VoiceLine::NoAnswer => pick(
            es,
            "Sorry, no one could pick up right now. I can take your request, and the office will follow up.",
            "Lo siento, nadie pudo contestar ahora. Yo tomo su solicitud y la oficina le dará seguimiento.",
        ),
        VoiceLine::NoAnswerEmergency => pick(
            es,
            "No one could pick up right away, so let me take your details and we'll get someone out as a priority.",
            "Nadie pudo contestar de inmediato, así que tomo sus datos y enviaremos a alguien con prioridad.",
        ),
        VoiceLine::CannotTransfer { office } => match es {
            true => format!("Para hablar con una persona, llame a la oficina al {office}."),
            false => format!("To talk to a person, please call our office at {office}."),
        },
        VoiceLine::BookedFor { window, reference } => match es {
            true => format!("Listo, su cita está reservada para el {window}. Su número de confirmación es {reference}. Le avisaremos si algo cambia."),
            false => format!("You're all set for {window}. Your confirmation number is {reference}. We'll text or call if anything changes."),
        },
        VoiceLine::Received { reference } => match es {
            true => format!("Recibimos su solicitud. Su número de confirmación es {reference}. La oficina le llamará para programar la visita."),
            false => format!("We have your request. Your confirmation number is {reference}. Our office will call you to schedule the visit."),
        },
        VoiceLine::OneMoment => pick(es, "One moment while I put that in.", "Un momento mientras lo registro."),
        VoiceLine::TooLong => pick(
            es,
            "Let me connect you with our office so a person can help.",
            "Le comunico con la oficina para que una persona le ayude.",
        ),
        VoiceLine::Goodbye { business } => match es {
            true => format!("Gracias por llamar a {business}. Adiós."),
            false => format!("Thanks for calling {business}. Goodbye."),
        },
    }
}

/// Digits as a voice reads them, in groups of three or four: "six one two, five five
/// five, zero one zero zero". For the phone agent's read-backs.
pub(crate) fn spoken_phone(digits: &str, locale: Locale) -> String {
    phone_text(&Phone { digits: digits.to_string(), extension: None }, Channel::Voice, locale)
}

/// An address as a voice reads it back: the house number and the ZIP digit by digit
/// ("four four one seven West Lake Street, Minneapolis, MN five five four one six"), the
/// way a caller checks them.
fn spoken_address(a: &str, locale: Locale) -> String {
    let words: Vec<&str> = a.split(' ').collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let core = w.trim_end_matches(',');
            let digits = !core.is_empty() && core.len() <= 6 && core.bytes().all(|b| b.is_ascii_digit());
            if digits && (i == 0 || (i == last && core.len() == 5)) {
                format!("{}{}", digits_spoken(core, locale), &w[core.len()..])
            } else {
                (*w).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each digit as its word: "4417" → "four four one seven".
pub(crate) fn spoken_digits(digits: &str, locale: Locale) -> String {
    digits_spoken(digits, locale)
}
