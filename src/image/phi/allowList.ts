/**
 * Technical text that may stay in an image: orientation letters, acquisition parameters
 * with their units, window/level, slice/frame/series counters, scale labels, sequence and
 * view names, ultrasound controls and probe names. A line is safe only when EVERY token
 * is on this list; anything else is treated as PHI (fail closed).
 */
const UNITS = 'KV|KVP|MA|MAS|MS|S|SEC|MM|CM|M|HZ|KHZ|MHZ|DB|%|FPS|DEG|°|X|MGY|MSV|GY|CGY|T|BPM|MM/S|CM/S|M/S|MMHG|ML|CC|G|MG|KG/M2|W/KG';

const LABELS = `W L C WW WL WC W/L WINDOW LEVEL CENTER WIDTH IM IMG IMAGE SE SER SERIES SL SLICE FR FRAME
FRAMES ST THK THICKNESS TR TE TI FA FLIP FOV DFOV MATRIX GAIN DEPTH FREQ FRQ DR PWR POWER ZOOM MI TIS TIB
TIC PRF WF CINE MAG KV KVP MA MAS NEX NSA ETL BW SCALE TILT POS LOC KERNEL PITCH ROT SPACING DOSE CTDI
CTDIVOL DLP HR AVG ACQ PHASE ECHO RES SPEED FOCUS FOC PERS PERSIST DYN RANGE COMP FILTER ANGLE VOL
ROI SNR CNR MODE`;

const WORDS = `T1 T2 T2* T1W T2W PD PDW FLAIR DWI ADC SWI STIR TSE FSE GRE SE IR EPI MPRAGE SPGR TOF MRA DTI BOLD
FIESTA TRUFI HASTE VIBE DIXON FS FAT SAT FATSAT POST PRE GD C+ C- CONTRAST AX AXIAL COR CORONAL SAG
SAGITTAL TRA TRANS TRANSVERSE OBL OBLIQUE 3D 2D 4D B0 B50 B500 B800 B1000 LOCALIZER SCOUT TOPOGRAM SURVEY
BONE SOFT TISSUE LUNG BRAIN STANDARD ABD ABDOMEN CHEST THORAX HEAD NECK PELVIS SPINE LIVER KIDNEY
HEART CARDIAC RENAL THYROID CAROTID BREAST KNEE SHOULDER HIP ANKLE WRIST ELBOW HAND FOOT CSPINE
TSPINE LSPINE B-MODE M-MODE BMODE MMODE COLOR COLOUR DOPPLER PW CW PD THI HARM HARMONIC GEN PEN OB GYN
CARD VASC MSK SMALL PARTS PARTS ARTERIAL VENOUS PORTAL DELAYED NATIVE LATE EARLY LEFT RIGHT ANTERIOR
POSTERIOR SUPERIOR INFERIOR HEAD FEET LAT LATERAL MED MEDIAL PROX DIST AP PA LAO RAO LPO RPO
UPRIGHT SUPINE PRONE ERECT DECUB PORTABLE INSP EXP MIP MINIP MPR VR AVG SUM SUB MAP FUSION PET CT MR
MRI US NM XA DX CR MG PT SPECT CTA CTP PERF CBF CBV MTT TTP CINE LOOP LIVE FREEZE FROZEN STORE
SIZE AREA DIST DISTANCE LENGTH VOLUME MEAN MAX MIN SD STD ID# OF AND ON OFF HI LO LOW HIGH MID
AUTO MANUAL NORMAL NORM FAST SLOW TGC ACQUISITION RECON REF SIGNAL NOISE PROBE LINEAR CONVEX
SECTOR PHASED ARRAY SCAN VIEW SERIES TRACE DIFFUSION PERFUSION SHIM`;

/**
 * Anatomy, position and acquisition vocabulary of radiograph, mammography, CT and MR labels
 * ("Left knee, lateral view", "Cervical spine flexion", "Right breast MLO", "Coronal T2 fat
 * sat"): laterality, views and projections, body parts, sequences and techniques. None is a
 * name in names.ts, and a line is still safe only when every token is.
 */
const ANATOMY = `BILATERAL BILAT LT RT ANT POST SUP INF DORSAL VENTRAL PLANTAR PALMAR VOLAR CRANIAL CAUDAL
PROXIMAL DISTAL UPPER LOWER MIDDLE CENTRAL IPSILATERAL CONTRALATERAL FRONTAL AXILLARY VIEWS
PROJECTION PROJECTIONS DECUBITUS FLEXION EXTENSION NEUTRAL STANDING SITTING SEATED WEIGHT BEARING
WEIGHTBEARING STRESS INSPIRATION EXPIRATION OPEN CLOSED MOUTH TUNNEL SUNRISE SKYLINE MORTISE
SCAPULAR TOWNE CALDWELL SWIMMER CC MLO ML LM XCCL SPOT SKULL FACIAL FACE SINUS SINUSES ORBIT
ORBITS ORBITAL MANDIBLE MAXILLA TMJ NASAL JAW TEETH DENTAL CERVICAL THORACIC LUMBAR SACRUM SACRAL
COCCYX SI JOINT JOINTS CLAVICLE SCAPULA HUMERUS FOREARM ULNA RADIUS FINGER FINGERS THUMB FEMUR
TIBIA FIBULA PATELLA CALCANEUS HEEL TOE TOES LEG LEGS ARM ARMS THIGH RIB RIBS STERNUM BONES
ABDOMINAL PELVIC HIPS KNEES ANKLES SHOULDERS WRISTS ELBOWS HANDS FOOT FEET SPINE SPINAL CORD
PITUITARY SELLA IAC AUDITORY TEMPORAL CEREBRAL AORTA AORTIC PULMONARY CORONARY LUNGS SPLEEN
PANCREAS GALLBLADDER BLADDER PROSTATE UTERUS OVARY OVARIES SCROTUM BOWEL COLON STOMACH ESOPHAGUS
VESSEL VESSELS VEIN VEINS ARTERY ARTERIES CAROTIDS WHOLE BODY EXTREMITY EXTREMITIES CSPINE
T1W T2W T1-W T2-W SPIN GRADIENT INVERSION RECOVERY FLASH FISP CISS SPACE CUBE BRAVO LAVA
THRIVE PROPELLER BLADE RESOLVE ASL PWI DCE DSC MRCP MRV SSFP WATER IN OPP OPPOSED OUT
SUBTRACTION SUBTRACTED RECONSTRUCTION THIN THICK HELICAL SPIRAL SEQUENTIAL NONCONTRAST NON
WITH WITHOUT W/O IV ORAL ENHANCED UNENHANCED BOLUS TRACKING EQUILIBRIUM HEPATOBILIARY PROTOCOL
ROUTINE SCANOGRAM PILOT LOCATOR TRIPLANE MULTIPLANAR SLAB AVERAGES LOWDOSE`;

/** Units (also standing alone, and after a number: "3.0 mm", "12 mGy", "45 keV", "-1000 HU"). */
const MORE_UNITS = 'KEV MEV HU MSEC PX PIXEL PIXELS UM MT MBQ MCI MMOL CM2 MM2 CM3 MM3 MGY*CM MGYCM LP/MM';

const LABEL_SET = new Set(LABELS.split(/\s+/).filter(Boolean));
const WORD_SET = new Set([...WORDS.split(/\s+/), ...ANATOMY.split(/\s+/), ...MORE_UNITS.split(/\s+/)].filter(Boolean));
// "ID#" above is an artefact guard only; IDs themselves never pass (no digits rule below).
WORD_SET.delete('ID#');

const NUMBER = String.raw`[-+]?(?:\d{1,4}(?:[.,]\d+)?|\.\d+)`;
const NUMBER_WITH_UNIT = new RegExp(String.raw`^[-+]?\d{1,5}(?:[.,]\d+)?(?:${UNITS})$`);
const BARE_NUMBER = new RegExp(`^${NUMBER}$`);
const UNIT_ONLY = new RegExp(`^(?:${UNITS})$`);
const LABEL_VALUE = /^([A-Z/]{1,8}[A-Z0-9]?)[:=]?([-+]?\d{1,5}(?:[.,]\d+)?[A-Z%°/]{0,4})?[:=]?$/;
const COUNTER = /^\d{1,4}\s?\/\s?\d{1,4}$/;
const ORIENTATION = /^[LRAPHFSI]{1,3}$/;
const PROBE = /^[A-Z]{1,3}\d{1,2}-\d{1,2}[A-Z]?$/;
const PUNCTUATION = /^[-+:/|.,*#=()[\]<>~_°]+$/;

/** True when one upper-case token is safe technical text. */
export function isSafeToken(token: string): boolean {
  if (token.length === 0 || PUNCTUATION.test(token)) return true;
  if (ORIENTATION.test(token) || WORD_SET.has(token) || LABEL_SET.has(token)) return true;
  if (BARE_NUMBER.test(token) || NUMBER_WITH_UNIT.test(token) || UNIT_ONLY.test(token)) return true;
  if (COUNTER.test(token) || PROBE.test(token)) return true;
  const labelled = LABEL_VALUE.exec(token);
  if (labelled && labelled[2] !== undefined && LABEL_SET.has(labelled[1])) return true;
  if (labelled && labelled[2] === undefined && LABEL_SET.has(labelled[1].replace(/[:=]$/, ''))) return true;
  // "W:400/L:40" and "12/40" joined without spaces
  if (token.includes('/') && token.split('/').every((part) => part.length > 0 && part !== token && isSafeToken(part))) return true;
  // OCR often drops spaces: "WW1068WL" = "WW" "1068" "WL"; "GAIN68" = "GAIN" "68".
  const runs = token.match(/[A-Z]+|[-+]?\d+(?:[.,]\d+)?|[^A-Z\d]+/g) ?? [];
  if (runs.length > 1 && !/\d:\d/.test(token) && runs.every((run) => run !== token && isSafeToken(run))) return true;
  return false;
}

/** Splits a recognized line into upper-case tokens (whitespace; "W: 400" is rejoined). */
export function tokenize(text: string): string[] {
  return text
    .toUpperCase()
    .replace(/\s*([:=])\s*/g, '$1')
    .split(/\s+/)
    .filter((token) => token.length > 0);
}

/** True when every token of the line is safe technical text. */
export function isSafeLine(text: string): boolean {
  const tokens = tokenize(text);
  return tokens.length > 0 && tokens.every(isSafeToken);
}
