//! What the homeowner needs: trade, the issue in the contractor's words, repair or
//! estimate, and whether it is an emergency. Phrase tables, English and Spanish.

use crate::booking::{Locale, Trade, VisitKind};
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
    (
        Emergency::Gas,
        "smell gas|smell of gas|gas smell|smell like gas|gas leak|leaking gas|rotten eggs|olor a gas|\
        huele a gas|fuga de gas|smell natural gas",
    ),
    (Emergency::CarbonMonoxide, "carbon monoxide|co alarm|co detector|co monitor|monóxido|monoxido"),
    (
        Emergency::Flooding,
        "flooding|flooded|flood|burst pipe|pipe burst|water everywhere|pipe broke|inundación|\
        inundado|inundada|inundando",
    ),
    (
        Emergency::Sparks,
        "sparks|sparking|burning smell|smell burning|smell like burning|smoke|smoking|\
        electrical fire|chispas|olor a quemado|huele a quemado|humo",
    ),
];

const HIGH: &str = "urgent|emergency|asap emergency|freezing|below zero|below 0|urgente|emergencia|no heat|\
    sin calefacción";

/// Per trade, "phrase=issue label" entries. Longer, more specific phrases come first:
/// the first phrase of the winning trade found in the text names the issue; every hit
/// votes for its trade. Labels are English (the office reads them in ServiceTitan);
/// [`issue_label`] gives the homeowner's language.
///
/// Commercial refrigeration (walk-ins, reach-ins, ice machines, display cases, rooftop
/// units) is HVAC: there is no refrigeration trade to book, and HVAC contractors are
/// the ones who service it. Bare "walk-in" and "reach-in" are left out: closets too.
const ISSUES: [(Trade, &str); 4] = [
    (
        Trade::Plumbing,
        "grease trap=Grease trap|grease interceptor=Grease trap|trampa de grasa=Grease trap|floor drain=Floor drain|\
        floor drains=Floor drain|backflow test=Backflow test|backflow=Backflow|urinal=Urinal|urinals=Urinal|\
        mingitorio=Urinal|mop sink=Mop sink|water heater=Water heater|hot water heater=Water heater|\
        tankless=Water heater|calentador de agua=Water heater|boiler de agua=Water heater|calentador=Water heater|\
        no hot water=No hot water|sin agua caliente=No hot water|no hay agua caliente=No hot water|\
        agua caliente=No hot water|\
        burst pipe=Burst pipe|pipe burst=Burst pipe|flooding=Flooding|flooded=Flooding|flood=Flooding|\
        toilet=Toilet|toilets=Toilet|inodoro=Toilet|\
        excusado=Toilet|taza del baño=Toilet|clogged drain=Clogged drain|drenaje tapado=Clogged drain|drain=Drain|\
        drenaje=Drain|desagüe=Drain|desague=Drain|clogged=Clog|clog=Clog|tapado=Clog|tapada=Clog|atascado=Clog|\
        backed up=Backup|backing up=Backup|sewer=Sewer|alcantarilla=Sewer|faucet=Faucet|llave de agua=Faucet|\
        grifo=Faucet|sink=Sink|fregadero=Sink|lavabo=Sink|lavamanos=Sink|garbage disposal=Garbage disposal|\
        disposal=Garbage disposal|triturador=Garbage disposal|sump pump=Sump pump|bomba de sumidero=Sump pump|\
        shower=Shower|regadera=Shower|ducha=Shower|tub=Tub|tina=Tub|pipe=Pipe|pipes=Pipe|tubería=Pipe|tuberia=Pipe|\
        tubo=Pipe|leak=Leak|leaking=Leak|leaks=Leak|dripping=Leak|fuga=Leak|gotea=Leak|water softener=Water softener|\
        suavizador=Water softener|gas line=Gas line|línea de gas=Gas line|plumber=Plumbing service|\
        plumbing=Plumbing service|plomero=Plumbing service|plomería=Plumbing service|plomeria=Plumbing service|\
        baño=Toilet",
    ),
    (
        Trade::Roofing,
        "roof leak=Roof leak|roof leaking=Roof leak|leaking roof=Roof leak|leak in the ceiling=Roof leak|\
        ceiling leak=Roof leak|missing shingles=Missing shingles|shingles=Shingles|gutter=Gutters|gutters=Gutters|\
        skylight=Skylight|new roof=New roof|flat roof=Flat roof|roof=Roof|roofer=Roof|roofing=Roof|\
        gotera=Roof leak|goteras=Roof leak|tejas=Shingles|canaleta=Gutters|canaletas=Gutters|canalón=Gutters|\
        tragaluz=Skylight|techo nuevo=New roof|techo=Roof|tejado=Roof|techador=Roof",
    ),
    (
        Trade::Hvac,
        "walk-in cooler=Walk-in cooler|walk in cooler=Walk-in cooler|walk-in box=Walk-in cooler|\
        walk-in freezer=Walk-in freezer|walk in freezer=Walk-in freezer|reach-in freezer=Reach-in freezer|\
        reach in freezer=Reach-in freezer|reach-in cooler=Reach-in cooler|reach in cooler=Reach-in cooler|\
        reach-in refrigerator=Reach-in cooler|ice machine=Ice machine|ice machines=Ice machine|ice maker=Ice machine|\
        icemaker=Ice machine|máquina de hielo=Ice machine|maquina de hielo=Ice machine|display case=Display case|\
        display cooler=Display case|prep table=Refrigeration|cámara fría=Walk-in cooler|camara fria=Walk-in cooler|\
        cuarto frío=Walk-in cooler|cuarto frio=Walk-in cooler|rooftop unit=Rooftop unit|rooftop units=Rooftop unit|\
        roof top unit=Rooftop unit|rooftop hvac=Rooftop unit|rooftop ac=Rooftop unit|rtu=Rooftop unit|\
        rtus=Rooftop unit|package unit=Rooftop unit|unidad del techo=Rooftop unit|unidad en el techo=Rooftop unit|\
        condensing unit=Condensing unit|chiller=Chiller|chillers=Chiller|make-up air=Make-up air unit|\
        make up air=Make-up air unit|makeup air=Make-up air unit|exhaust hood=Exhaust hood|hood fan=Exhaust hood|\
        kitchen hood=Exhaust hood|swamp cooler=Evaporative cooler|evaporative cooler=Evaporative cooler|\
        beverage cooler=Cooler|congelador=Freezer|congeladores=Freezer|freezer=Freezer|freezers=Freezer|\
        refrigeration=Refrigeration|refrigeración=Refrigeration|refrigeracion=Refrigeration|\
        refrigerator=Refrigeration|refrigerators=Refrigeration|refrigerador=Refrigeration|refri=Refrigeration|\
        nevera=Refrigeration|fridge=Refrigeration|heat pump=Heat pump|mini split=Mini split|\
        no enfría=AC not cooling|no enfria=AC not cooling|tune up=Tune-up|tune-up=Tune-up|maintenance=Maintenance|\
        not cooling=AC not cooling|isn't cooling=AC not cooling|won't cool=AC not cooling|\
        stopped cooling=AC not cooling|warm air=AC not cooling|hot air=AC not cooling|no cold air=AC not cooling|\
        no heat=No heat|not heating=No heat|stopped heating=No heat|cold air=No heat|air conditioner=AC|\
        air conditioning=AC|aire acondicionado=AC|calefacción=No heat|calefaccion=No heat|ac=AC|hvac=HVAC service|\
        pilot light=Pilot light|furnace=Furnace|boiler=Boiler|thermostat=Thermostat|ductwork=Ductwork|\
        duct=Ductwork|ducts=Ductwork|\
        vents=Vents|compressor=AC|cooler=Cooler|coolers=Cooler|cooling=AC|heating=Heating|heater=Heating|\
        heat=Heating|carbon monoxide=CO alarm|co alarm=CO alarm|bomba de calor=Heat pump|minisplit=Mini split|\
        no calienta=No heat|mantenimiento=Maintenance|caldera=Boiler|calefactor=Furnace|termostato=Thermostat|\
        ductos=Ductwork|rejillas=Vents|compresor=AC|aire=AC|clima=AC|minisplits=Mini split",
    ),
    (
        Trade::Electrical,
        "ev charger=EV charger|panel upgrade=Panel upgrade|electrical panel=Electrical panel|no power=No power|\
        power out=No power|lost power=No power|breaker=Breaker tripping|breakers=Breaker tripping|outlet=Outlet|\
        outlets=Outlet|light switch=Light switch|switch=Switch|parking lot lights=Parking lot lights|\
        parking lot light=Parking lot lights|parking lot lighting=Parking lot lights|pole lights=Parking lot lights|\
        exit sign=Exit sign|exit signs=Exit sign|flickering=Flickering lights|lights=Lights|wiring=Wiring|\
        ceiling fan=Ceiling fan|generator=Generator|panel=Electrical panel|sparks=Sparks|sparking=Sparks|\
        burning smell=Burning smell|electrician=Electrical service|electrical=Electrical service|\
        electric=Electrical service|sin luz=No power|no hay luz=No power|se fue la luz=No power|\
        cargador=EV charger|panel eléctrico=Electrical panel|enchufe=Outlet|enchufes=Outlet|apagador=Light switch|\
        interruptor=Switch|parpadean=Flickering lights|cableado=Wiring|ventilador de techo=Ceiling fan|\
        generador=Generator|chispas=Sparks|olor a quemado=Burning smell|\
        electricista=Electrical service|eléctrico=Electrical service|electrico=Electrical service|luz=No power|\
        luces=Lights|light fixture=Light fixture|light fixtures=Light fixture|light=Lights",
    ),
];

fn issues(list: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    text::pairs(list)
}

/// Each English issue label ([`ISSUES`], the emergencies) in Spanish, as the summary
/// shows it to a Spanish-speaking homeowner.
const ES_LABELS: &str = "Grease trap=Trampa de grasa|Floor drain=Drenaje de piso|Backflow test=Prueba de contraflujo|\
    Backflow=Válvula de contraflujo|Urinal=Mingitorio|Mop sink=Fregadero de servicio|Water heater=Calentador de agua|\
    No hot water=No hay agua caliente|Burst pipe=Tubería reventada|Flooding=Inundación|Toilet=Inodoro|\
    Clogged drain=Drenaje tapado|Drain=Drenaje|Clog=Tapado|Backup=El drenaje se regresa|Sewer=Drenaje principal|\
    Faucet=Llave de agua|Sink=Lavabo|Garbage disposal=Triturador de basura|Sump pump=Bomba de sumidero|\
    Shower=Regadera|Tub=Tina|Pipe=Tubería|Leak=Fuga|Water softener=Suavizador de agua|\
    Plumbing service=Servicio de plomería|Gas line=Línea de gas|Roof leak=Gotera en el techo|\
    Missing shingles=Faltan tejas|Shingles=Tejas|Gutters=Canaletas|Skylight=Tragaluz|New roof=Techo nuevo|\
    Flat roof=Techo plano|Roof=Techo|Walk-in cooler=Cámara fría|Walk-in freezer=Cámara de congelación|\
    Reach-in freezer=Congelador vertical|Reach-in cooler=Refrigerador vertical|Ice machine=Máquina de hielo|\
    Display case=Vitrina refrigerada|Refrigeration=Refrigeración|Rooftop unit=Unidad en el techo|\
    Condensing unit=Unidad condensadora|Chiller=Enfriador de agua|Make-up air unit=Unidad de aire de reposición|\
    Exhaust hood=Campana extractora|Evaporative cooler=Enfriador evaporativo|Cooler=Refrigerador|\
    Freezer=Congelador|Heat pump=Bomba de calor|Mini split=Minisplit|\
    AC not cooling=El aire acondicionado no enfría|Tune-up=Afinación|Maintenance=Mantenimiento|\
    No heat=Sin calefacción|AC=Aire acondicionado|HVAC service=Servicio de calefacción y aire|Furnace=Calefactor|\
    Boiler=Caldera|Thermostat=Termostato|Ductwork=Ductos|Vents=Rejillas de ventilación|Heating=Calefacción|\
    CO alarm=Alarma de monóxido de carbono|EV charger=Cargador de auto eléctrico|\
    Panel upgrade=Cambio de panel eléctrico|Electrical panel=Panel eléctrico|No power=Sin luz|\
    Breaker tripping=Se bota el breaker|Outlet=Enchufe|Light switch=Apagador|Switch=Interruptor|\
    Parking lot lights=Luces del estacionamiento|Exit sign=Letrero de salida|Flickering lights=Luces parpadeando|\
    Lights=Luces|Light fixture=Lámpara|Pilot light=Piloto|Wiring=Cableado|Ceiling fan=Ventilador de techo|\
    Generator=Generador|Sparks=Chispas|\
    Burning smell=Olor a quemado|Electrical service=Servicio eléctrico|Gas smell=Olor a gas|\
    Sparks / burning smell=Chispas u olor a quemado";

/// The issue as the homeowner reads it, in `locale`. `issue` is what extraction
/// found (an English label such as "AC not cooling", or "Gas smell: Furnace" for an
/// emergency with its equipment): in Spanish each known label is translated
/// ("El aire acondicionado no enfría", "Olor a gas: Calefactor"). Anything else (the
/// homeowner's own words, kept when no trade was recognised) is returned as it is.
/// ServiceTitan keeps the English label: the office reads English.
pub fn issue_label(issue: &str, locale: Locale) -> String {
    if locale != Locale::Es {
        return issue.to_string();
    }
    let es = |part: &str| text::lookup(ES_LABELS, part).unwrap_or(part).to_string();
    match issue.split_once(": ") {
        Some((emergency, equipment)) if text::lookup(ES_LABELS, emergency).is_some() => {
            format!("{}: {}", es(emergency), es(equipment))
        }
        _ => es(issue),
    }
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
    // Every hit: (trade, start, end). A hit inside another trade's longer hit does not
    // vote: the "heater" of "water heater" is not HVAC's.
    let mut hits: Vec<(usize, usize, usize)> = Vec::new();
    for (trade, list) in ISSUES {
        for (phrase, _) in issues(list) {
            if let Some(pos) = find_phrase(padded, phrase) {
                hits.push((trade as usize, pos, pos + phrase.len()));
            }
        }
    }
    let mut votes = [0u32; 4];
    let mut first_pos = [usize::MAX; 4];
    for &(t, start, end) in &hits {
        let inside_another = hits.iter().any(|&(o, s, e)| o != t && s <= start && end <= e && e - s > end - start);
        if inside_another {
            continue;
        }
        if let Some(v) = votes.get_mut(t) {
            *v += 1 + (end - start) as u32 / 6;
        }
        if let Some(p) = first_pos.get_mut(t) {
            *p = (*p).min(start);
        }
    }
    // Roof words outrank a generic "leak" (only that: "the unit on the roof isn't
    // cooling" is HVAC); otherwise most votes, then earliest.
    let plumbing_votes = votes.get(Trade::Plumbing as usize).copied().unwrap_or(0);
    if let Some(v) = votes.get_mut(Trade::Roofing as usize).filter(|v| **v > 0 && plumbing_votes > 0) {
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
        // "flat roof on the store is leaking": the roof is what leaks.
        let leaks = "leak|leaks|leaking|dripping|gotea|goteando";
        if matches!(need.issue.as_deref(), Some("Roof" | "Flat roof")) && has(padded, leaks) {
            need.issue = Some("Roof leak".to_string());
        }
    }
    if has(padded, ESTIMATE) && need.trade.is_some() {
        need.kind = Some(VisitKind::Estimate);
    }
    if let Some((e, _)) = EMERGENCIES.iter().find(|(_, list)| has(padded, list)) {
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
    } else if has(padded, HIGH) {
        let freezing = "freezing|below zero|below 0|frozen|baby|elderly|urgent|emergency|urgente|emergencia";
        if !padded.contains(" no heat ") || has(padded, freezing) {
            need.urgency = Some(Urgency::High);
        }
    }
    need
}

/// Words only Spanish uses, worth two: one of them ("hola", "necesito", "enfría") is
/// enough to tell a first message is Spanish.
const SPANISH: &str = "hola|necesito|necesitamos|tengo|tiene|tenemos|funciona|enfría|enfria|calienta|prende|sirve|\
    descompuso|descompuesto|gracias|ayuda|quiero|buenas|buenos|está|esta|están|estoy|hay|nuestro|nuestra|también|\
    pero|cuando|cuánto|cuanto|dónde|donde|mañana|hoy|ahora|urgente|favor|usted|puede|llamo|nombre|calle|casa|\
    cocina|baño|sótano|techo|agua|caliente|aire|luz|fuga|gotera|goteras|hielo|máquina|maquina|nevera|refrigerador|\
    congelador|negocio|tienda|oficina|edificio|restaurante|plomero|electricista|calentador|calefacción|huele|olor|\
    roto|inundó|inundado|sí|muy|hablar|tarde|noche|días|presupuesto|cotización|unidad|enchufe|chispas|tubería|\
    inodoro|servicio|problema|alarma|termostato";

/// Short words both languages' texts are full of; Spanish ones are worth one.
/// ("me", "son" and "al" are left out: "call me", "my son", "this is Al".)
const SPANISH_SHORT: &str = "el|la|los|las|de|del|y|un|una|unos|unas|que|por|para|con|se|es|mi|mis|su|sus|lo|le|les|\
    en|nos";

/// English words, worth one each.
const ENGLISH: &str = "hi|hello|hey|my|the|is|are|was|i|i'm|need|have|has|it|it's|not|and|to|with|please|thanks|\
    this|for|at|stopped|working|of|our|we|broken|leaking|you|can|someone|out|from|there|in|on|isn't|won't|doesn't|\
    don't|house|help|fix|yes";

/// The language one message is written in, when it is clear: Spanish when its
/// Spanish words outweigh its English ones (a word only Spanish has counts two, so
/// "hola" or "mi aire no enfria" is enough), English likewise; `None` when too few
/// words tell ("ok", "4417 El Camino Real"). An accent, ñ, ¿ or ¡ counts one for
/// Spanish: "José" alone does not make an English message Spanish.
pub(crate) fn language(padded: &Padded<'_>) -> Option<Locale> {
    // Each entry counts once: the word-start bit sets rule most of them out without a
    // search (a lookup of every word in the lists cost a substring scan per word and list).
    let count = |list: &'static str| text::entries(list).filter(|w| find_phrase(padded, w).is_some()).count();
    let es = 2 * count(SPANISH)
        + count(SPANISH_SHORT)
        + usize::from(padded.contains(['ñ', '¿', '¡', 'á', 'é', 'í', 'ó', 'ú']));
    let en = count(ENGLISH);
    if es >= 2 && es > en {
        Some(Locale::Es)
    } else if en >= 2 && en > es {
        Some(Locale::En)
    } else {
        None
    }
}

/// The normalized text of one message with a space at each end, plus two small
/// bit sets of what can start a word (first byte, first two bytes) and the word
/// starts themselves, built once per message: most of the ~600 phrases of the tables
/// are ruled out by one bit test, and the rest are compared at the word starts only
/// (a substring search set up a searcher for every phrase that passed the bits).
pub(crate) struct Padded<'a> {
    text: &'a str,
    first: [u64; 4],
    pair: [u64; 16],
    /// Byte offsets where a phrase may start: right after a non-letter, non-digit.
    starts: Vec<u32>,
}

fn pair_bit(a: u8, b: u8) -> usize {
    (usize::from(a).wrapping_mul(31) ^ usize::from(b).wrapping_mul(7)) & 1023
}

impl<'a> Padded<'a> {
    pub(crate) fn new(text: &'a str) -> Padded<'a> {
        let mut p = Padded { text, first: [0; 4], pair: [0; 16], starts: Vec::new() };
        let b = text.as_bytes();
        let mut prev_alnum = true; // nothing matches at 0 (see find_phrase)
        for (i, c) in text.char_indices() {
            if !prev_alnum {
                p.starts.extend(u32::try_from(i).ok());
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

/// True when one of `phrases` (`|`-separated) is in `padded` as whole words. One
/// function for every list: a closure per list was a copy of the search loop each.
pub(crate) fn has(padded: &Padded<'_>, phrases: &'static str) -> bool {
    text::entries(phrases).any(|p| find_phrase(padded, p).is_some())
}

/// Byte position of `phrase` as whole words in `padded`: the first word start where
/// the text holds `phrase` followed by a non-letter, non-digit.
pub(crate) fn find_phrase(padded: &Padded<'_>, phrase: &str) -> Option<usize> {
    if !padded.may_have(phrase) {
        return None;
    }
    let (bytes, pb) = (padded.text.as_bytes(), phrase.as_bytes());
    let first = pb.first().copied();
    let ends_a_word = |end: usize| {
        padded.text.get(end..).and_then(|t| t.chars().next()).is_some_and(|c| !text::is_letter_or_digit(c))
    };
    padded.starts.iter().map(|&s| s as usize).find(|&s| {
        bytes.get(s).copied() == first && bytes.get(s..s + pb.len()) == Some(pb) && ends_a_word(s + pb.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::words;

    /// The text as `extract` gives it to the finders.
    fn padded(text: &str) -> String {
        let mut p = String::from(" ");
        for w in words::spoken_numbers(words::split(&words::fold(text))) {
            p.push_str(&w.norm);
            p.push_str(if w.brk { " , " } else { " " });
        }
        p
    }

    fn language_of(text: &str) -> Option<Locale> {
        language(&Padded::new(&padded(text)))
    }

    /// "mi ac no prende" and "hola" were not recognised as Spanish: the old list
    /// counted only common words, one each, and needed two.
    #[test]
    fn a_first_spanish_message_is_spanish() {
        for es in [
            "hola",
            "Hola!",
            "mi ac no prende",
            "mi aire no enfria",
            "el aire no enfría",
            "necesito plomero",
            "se descompuso el boiler",
            "la máquina de hielo no hace hielo",
            "el congelador del restaurante no enfría",
            "buenas tardes",
            "tengo una fuga",
            "no hay luz",
            "gotera en el techo",
            "ayuda por favor",
            "se inundó el sótano",
            "la nevera del negocio no enfria",
            "quiero una cotización para un calentador",
            "Buenos días, el AC de la oficina no funciona",
            "hola my ac no funciona",
        ] {
            assert_eq!(language_of(es), Some(Locale::Es), "{es:?}");
        }
    }

    #[test]
    fn english_and_unclear_messages_are_not_spanish() {
        for en in [
            "my ac stopped cooling",
            "hi this is José, my furnace is broken",
            "hola, my ac is not working",
            "the walk-in cooler at our deli is warm",
            "call me back, my son is home",
            "this is Al, the toilet is clogged",
            "4417 El Camino Real, Los Altos, the water heater is leaking",
            "tenant in unit 2 has no heat",
        ] {
            assert_eq!(language_of(en), Some(Locale::En), "{en:?}");
        }
        for unclear in ["ok", "4417 El Camino Real", "612 555 0143", "AC", "José"] {
            assert_eq!(language_of(unclear), None, "{unclear:?}");
        }
    }

    /// A line break inside a table without its `\` left spaces in an entry, and the
    /// phrase never matched.
    #[test]
    fn table_entries_have_no_stray_spaces() {
        let lists = ISSUES.iter().map(|(_, l)| *l).chain([ES_LABELS, SPANISH, SPANISH_SHORT, ENGLISH, ESTIMATE, HIGH]);
        for entry in lists.chain(EMERGENCIES.iter().map(|(_, l)| *l)).flat_map(|l| l.split(['|', '='])) {
            assert!(!entry.is_empty() && entry.trim() == entry && !entry.contains("  "), "{entry:?}");
        }
    }

    /// A Spanish homeowner read "Problema: AC not cooling": labels were English only.
    #[test]
    fn every_issue_label_has_spanish() {
        let labels = ISSUES.iter().flat_map(|(_, list)| issues(list)).map(|(_, l)| l);
        let emergencies = ["Gas smell", "CO alarm", "Flooding", "Sparks / burning smell"];
        for label in labels.chain(emergencies) {
            let es = issue_label(label, Locale::Es);
            assert_ne!(es, label, "{label:?} has no Spanish");
            assert_eq!(issue_label(label, Locale::En), label);
        }
        assert_eq!(issue_label("AC not cooling", Locale::Es), "El aire acondicionado no enfría");
        assert_eq!(issue_label("Gas smell: Furnace", Locale::Es), "Olor a gas: Calefactor");
        assert_eq!(issue_label("Gas smell: Furnace", Locale::En), "Gas smell: Furnace");
        // The homeowner's own words are theirs.
        assert_eq!(issue_label("se oye un ruido raro", Locale::Es), "se oye un ruido raro");
        assert_eq!(issue_label("Note: AC", Locale::Es), "Note: AC");
    }

    /// The label found for a Spanish message reads back in Spanish.
    #[test]
    fn spanish_messages_read_back_in_spanish() {
        for (said, want) in [
            ("mi aire acondicionado no enfría", "El aire acondicionado no enfría"),
            ("la máquina de hielo no hace hielo", "Máquina de hielo"),
            ("huele a gas cerca del calentador de agua", "Olor a gas: Calentador de agua"),
            ("tengo una gotera en el techo", "Gotera en el techo"),
        ] {
            let need = find(&Padded::new(&padded(said)));
            let issue = need.issue.unwrap_or_default();
            assert_eq!(issue_label(&issue, Locale::Es), want, "{said:?} ({issue:?})");
        }
    }
}
