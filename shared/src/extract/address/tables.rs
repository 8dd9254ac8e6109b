//! The word lists addresses are read by: USPS Publication 28 street suffixes,
//! directionals and unit designators, states, and ZIP prefixes. Matching
//! (`crate::matching::address`) reads the same tables, so "Avenue" = "Ave" means the
//! same thing when we parse what a homeowner typed and when we compare it with what
//! ServiceTitan stores.
//!
//! Lists are `|`-separated lowercase words (see `crate::text::listed`); pairs are
//! `long=SHORT` (see `crate::text::pairs`).

/// Suffixes that end a street: "Lake St", "Fifth Avenue".
pub(crate) const STRONG_SUFFIX: &str =
    "st|street|str|ave|avenue|av|avn|rd|road|dr|drive|blvd|boulevard|ln|lane|ct|court|way|\
    wy|pl|place|pkwy|parkway|cir|circle|ter|terr|terrace|hwy|highway|trl|trail|plz|plaza|aly|alley|expy|\
    expressway|fwy|freeway|tpke|turnpike|pike|row|path|walk|loop|cres|crescent|cv|cove|bnd|bend|calle|avenida|hgwy";
/// Suffixes that are also name words ("Gross Point Road"): they end a street only when
/// no strong suffix does.
pub(crate) const WEAK_SUFFIX: &str =
    "point|pt|sq|square|hollow|bay|turn|concourse|industrial|wynd|village|vlg|lake|forest|\
    park|hill|hl|hills|mill|ridge|rdg|crossing|xing|creek|crk|grove|grv|heights|hts|glen|green|commons|harbor|\
    landing|meadow|meadows|view|vista|center|ctr|pointe|estates|gardens|manor|springs|valley|woods|run|pass|run|\
    isle|key|oval|mall|walk|spur";
/// Road types said before the name: "Avenue H", "Highway 61".
pub(crate) const PRE_TYPE: &str =
    "avenue|ave|highway|hwy|route|rte|rt|spur|us|u.s|i|county|state|interstate|fm|sr|cr|calle|\
    avenida|business";
/// Road types a route number follows ("County Rd 312", "Hwy 98", "Loop 410").
pub(crate) const ROUTE: &str = "rd|road|hwy|highway|hgwy|route|rte|rt|loop|spur|fm|cr|sr|business";
/// Compass directions as typed.
pub(crate) const DIRS: &str =
    "n|s|e|w|ne|nw|se|sw|north|south|east|west|northeast|northwest|southeast|southwest|n.w|n.e|s.w|\
    s.e";
/// Unit designators said before the unit's id: "Apt 2B", "Suite 100".
pub(crate) const UNIT_BEFORE_ID: &str =
    "apt|apartment|unit|ste|suite|#|fl|floor|bldg|building|rm|room|lot|space|spc|trlr|\
    trailer|dept|ph|penthouse|pmb|apto|depto|departamento|interior|int|no|num|flr|flat|condo|bld|blg|msc";
/// Building, department and mailbox designators: not the unit ("Bldg 300, Suite 615").
pub(crate) const SUBADDRESS: &str = "bldg|building|bld|blg|dept|pmb|msc";
/// Unit designators said after the id: "2nd Floor".
pub(crate) const UNIT_AFTER_ID: &str = "floor|fl|flr|level|lvl|piso";
/// Ordinal words a floor is said with: "Second Floor".
pub(crate) const ORDINAL_WORDS: &str = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|ground|top";
/// Small words inside a street's name ("Via de Ventura", "Ave of the Americas", "P de
/// Leon Blvd"): a name goes on after them.
pub(crate) const NAME_PARTICLES: &str = "de|del|du|of|van|von";
/// Units with no id: "Basement", "Rear", "Mezzanine".
pub(crate) const UNIT_ALONE: &str =
    "basement|bsmt|upper|lower|rear|front|frnt|lobby|lbby|upstairs|downstairs|mezzanine|mezz";
/// City names that follow "St" ("St Louis"): then "St" is Saint, not Street.
pub(crate) const SAINTS: &str =
    "louis|paul|simons|petersburg|augustine|charles|cloud|george|joseph|helena|albans|clair|johns|\
    marys|james|lucie|pete|francisville|martinville|matthews";
/// Larger US cities whose name starts with a compass word, which envelopes shorten to
/// a letter ("W Palm Beach FL"): a letter before one of these is the city's, not the
/// street's post-directional ("Golfview Rd N" + "Palm Beach Gardens" stays the street's).
pub(crate) const COMPASS_CITIES: &str =
    "north las vegas|north charleston|north little rock|north miami|north miami beach|\
    north palm beach|north hollywood|north richland hills|north port|north providence|north lauderdale|north bergen|\
    north highlands|south bend|south gate|south san francisco|south jordan|south el monte|south pasadena|south euclid|\
    south holland|south portland|south burlington|south orange|south plainfield|south windsor|south salt lake|\
    east orange|east lansing|east hartford|east providence|east point|east st louis|east chicago|east cleveland|\
    east moline|east palo alto|east los angeles|east brunswick|east haven|east rutherford|east syracuse|\
    east grand rapids|west palm beach|west hollywood|west covina|west jordan|west valley city|west allis|\
    west hartford|west haven|west bloomfield|west des moines|west lafayette|west chester|west new york|west orange|\
    west sacramento|west springfield|west linn|west chicago|west columbia|west warwick|west fargo|west memphis|\
    west melbourne|west miami";
/// The ten largest US cities (2020 census): named after a street with no type and no
/// state or ZIP ("5429 Woodlawn Chicago"), they are the city, not more street.
pub(crate) const LARGEST_CITIES: &str =
    "new york|los angeles|chicago|houston|phoenix|philadelphia|san antonio|san diego|dallas|san jose";
/// Words that end an address: the homeowner moved on to something else.
pub(crate) const CHATTER: &str =
    "and|my|is|i|i'm|it|it's|we|our|please|call|phone|number|email|at|for|but|so|near|by|with|to|\
    ac|heat|furnace|need|thanks|thank|tomorrow|today|morning|afternoon|evening|asap|y|mi|es|gracias|name|this|\
    cell|tel|zip|you|can|could|would|if|when|there|have|has|am|pm|minutes|years|year|days|hours|degrees|dollars|\
    bucks|times";

/// USPS standard abbreviations of the suffixes above (and a few more ServiceTitan
/// records carry), `long=SHORT`; a short form maps to itself.
pub(crate) const SUFFIX_ABBREVIATIONS: &str =
    "street=ST|str=ST|st=ST|avenue=AVE|av=AVE|aven=AVE|avn=AVE|ave=AVE|road=RD|rd=RD|\
    drive=DR|drv=DR|dr=DR|lane=LN|ln=LN|boulevard=BLVD|boul=BLVD|blvd=BLVD|court=CT|ct=CT|place=PL|pl=PL|\
    terrace=TER|terr=TER|ter=TER|circle=CIR|cir=CIR|highway=HWY|hgwy=HWY|hwy=HWY|parkway=PKWY|pky=PKWY|pkwy=PKWY|\
    trail=TRL|trl=TRL|square=SQ|sq=SQ|way=WAY|wy=WAY|plaza=PLZ|plz=PLZ|alley=ALY|aly=ALY|crossing=XING|xing=XING|\
    expressway=EXPY|expy=EXPY|freeway=FWY|fwy=FWY|heights=HTS|hts=HTS|hollow=HOLW|holw=HOLW|junction=JCT|jct=JCT|\
    loop=LOOP|mountain=MTN|mtn=MTN|point=PT|pt=PT|ridge=RDG|rdg=RDG|route=RTE|rte=RTE|turnpike=TPKE|tpke=TPKE|\
    valley=VLY|vly=VLY|view=VW|vw=VW|village=VLG|vlg=VLG|cove=CV|cv=CV|creek=CRK|crk=CRK|estates=ESTS|ests=ESTS|\
    gardens=GDNS|gdns=GDNS|grove=GRV|grv=GRV|hill=HL|hl=HL|pass=PASS|crescent=CRES|cres=CRES|bend=BND|bnd=BND|\
    center=CTR|ctr=CTR|pike=PIKE|row=ROW|path=PATH|walk=WALK";
/// Directionals, `long=SHORT`.
pub(crate) const DIRECTIONAL_ABBREVIATIONS: &str = "north=N|n=N|south=S|s=S|east=E|e=E|west=W|w=W|northeast=NE|ne=NE|\
    northwest=NW|nw=NW|southeast=SE|se=SE|southwest=SW|sw=SW";
/// Unit designators matching drops (Apt 2B = Unit 2B = # 2B = Ste 2B).
pub(crate) const UNIT_DESIGNATORS: &str =
    "apt|apartment|unit|ste|suite|#|no|num|rm|room|fl|flr|floor|bldg|building|spc|space|\
    lot|trlr|trailer|ph|penthouse";

/// Ordinal words up to ninety-ninth as their last word: "fifth" = 5, "twenty" (in
/// "twenty-second") = 20. Units and teens are `word=N`, tens are `word=N0`.
pub(crate) const ORDINAL_UNITS: &str = "first=1|second=2|third=3|fourth=4|fifth=5|sixth=6|seventh=7|eighth=8|ninth=9|\
    tenth=10|eleventh=11|twelfth=12|thirteenth=13|fourteenth=14|fifteenth=15|sixteenth=16|seventeenth=17|\
    eighteenth=18|nineteenth=19|twentieth=20|thirtieth=30|fortieth=40|fiftieth=50|sixtieth=60|seventieth=70|\
    eightieth=80|ninetieth=90|hundredth=100";
/// Tens said before a unit ordinal: "twenty-second".
pub(crate) const ORDINAL_TENS: &str = "twenty=20|thirty=30|forty=40|fifty=50|sixty=60|seventy=70|eighty=80|ninety=90";

/// "name=CODE" entries.
pub(crate) const STATES: &str = "alabama=AL|alaska=AK|arizona=AZ|arkansas=AR|california=CA|colorado=CO|connecticut=CT|\
    delaware=DE|florida=FL|georgia=GA|hawaii=HI|idaho=ID|illinois=IL|indiana=IN|iowa=IA|kansas=KS|kentucky=KY|\
    louisiana=LA|maine=ME|maryland=MD|massachusetts=MA|michigan=MI|minnesota=MN|mississippi=MS|missouri=MO|\
    montana=MT|nebraska=NE|nevada=NV|new hampshire=NH|new jersey=NJ|new mexico=NM|new york=NY|north carolina=NC|\
    north dakota=ND|ohio=OH|oklahoma=OK|oregon=OR|pennsylvania=PA|rhode island=RI|south carolina=SC|\
    south dakota=SD|tennessee=TN|texas=TX|utah=UT|vermont=VT|virginia=VA|washington=WA|west virginia=WV|\
    wisconsin=WI|wyoming=WY|district of columbia=DC|puerto rico=PR";
/// Two-letter states that are also everyday words: only taken before a ZIP, at the
/// end, or typed in capitals.
pub(crate) const AMBIGUOUS_STATES: &str = "in|or|me|hi|ok|oh|pa|al|de|la|ma|mo|co|id|wa|ga|mi|ne|sc";

/// ZIP3 prefixes by state (USPS): each five-byte entry is the first prefix of a run
/// and the state of the whole run, up to the next entry; `--` marks prefixes no state
/// owns (unassigned, military APO/FPO, the Pacific territories). 85 entries, 425 bytes.
const ZIP3_RUNS: &str = "000--005NY006PR008VI009PR010MA028RI030NH039ME050VT055MA056VT060CT070NJ090--100NY150PA\
197DE200DC201VA202DC206MD220VA247WV270NC290SC300GA320FL340--341FL350AL370TN386MS398GA400KY428--430OH460IN\
480MI500IA529--530WI550MN568--569DC570SD578--580ND589--590MT600IL630MO659--660KS680NE694--700LA715--716AR\
730OK733TX734OK750TX800CO817--820WY832ID839--840UT848--850AZ866--870NM885TX886--889NV899--900CA962--967HI\
969--970OR980WA995AK";

/// The state a ZIP is in, from its first three digits: "55416" → "MN", "74055-1234" →
/// "OK", "09012" (an APO) → None. Five digits first, or None.
pub fn state_for_zip(zip: &str) -> Option<&'static str> {
    let b = zip.trim().as_bytes();
    if b.len() < 5
        || !b.iter().take(5).all(u8::is_ascii_digit)
        || b.get(5).is_some_and(u8::is_ascii_digit) && b.len() != 9
    {
        return None;
    }
    let prefix = b.get(..3)?;
    let mut state = None;
    for run in ZIP3_RUNS.as_bytes().chunks_exact(5) {
        let (start, code) = run.split_at(3);
        if start > prefix {
            break;
        }
        state = Some(code);
    }
    std::str::from_utf8(state?).ok().filter(|code| *code != "--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_prefixes_name_their_state() {
        for (zip, state) in [
            ("55416", Some("MN")),
            ("74055", Some("OK")),
            ("74055-1234", Some("OK")),
            ("00501", Some("NY")),
            ("02134", Some("MA")),
            ("05501", Some("MA")),
            ("05401", Some("VT")),
            ("20001", Some("DC")),
            ("20166", Some("VA")),
            ("22201", Some("VA")),
            ("33101", Some("FL")),
            ("73301", Some("TX")),
            ("73102", Some("OK")),
            ("79901", Some("TX")),
            ("88510", Some("TX")),
            ("87101", Some("NM")),
            ("89101", Some("NV")),
            ("90210", Some("CA")),
            ("96813", Some("HI")),
            ("97201", Some("OR")),
            ("99501", Some("AK")),
            ("99950", Some("AK")),
            ("00901", Some("PR")),
            ("00802", Some("VI")),
            ("554169999", Some("MN")),
            ("09012", None),
            ("96201", None),
            ("34001", None),
            ("00100", None),
            ("5541", None),
            ("", None),
            ("abcde", None),
            ("554160", None),
            ("5541a", None),
        ] {
            assert_eq!(state_for_zip(zip), state, "{zip}");
        }
    }

    #[test]
    fn zip_runs_are_sorted_five_byte_entries() {
        let runs: Vec<&[u8]> = ZIP3_RUNS.as_bytes().chunks(5).collect();
        assert!(runs.iter().all(|r| r.len() == 5 && r[..3].iter().all(u8::is_ascii_digit)));
        assert!(runs.windows(2).all(|w| w[0][..3] < w[1][..3]));
    }
}
