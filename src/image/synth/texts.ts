import type { Random } from './random.js';

/**
 * Text lines the generator burns in. PHI lines look like what scanners and workstations
 * print (names, IDs, dates, times, ages, contact data, institutions); non-PHI lines are
 * technical labels Veil must keep (orientation, kV/mAs, W/L, counters, scale, sequences).
 */
const FIRST = ['JOHN', 'Mary', 'ROBERT', 'Linda', 'JAMES', 'Susan', 'Peter', 'ANNA', 'Homer', 'Carlos', 'Priya', 'Wei', 'Olivia', 'KLAUS'];
const LAST = ['SMITH', 'Johnson', 'GARCIA', 'Kaufman', 'NGUYEN', 'Miller', 'OKAFOR', 'Rossi', 'SIMPSON', 'Patel', 'Zhang', 'DUBOIS', 'Kowalski', 'Haddad'];
const PLACES = ['St. Mary Hospital', 'MERCY MEDICAL CENTER', 'Lakeside Clinic', 'Univ. Hospital Zurich', 'NORTHWEST IMAGING', 'Riverside Radiology'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

function digits(random: Random, count: number): string {
  let out = String(random.int(1, 9));
  while (out.length < count) out += String(random.int(0, 9));
  return out;
}

export function phiLine(random: Random): string {
  const first = random.pick(FIRST);
  const last = random.pick(LAST);
  const year = random.int(1935, 2023);
  const month = random.int(1, 12);
  const day = random.int(1, 28);
  const time = `${pad(random.int(0, 23))}:${pad(random.int(0, 59))}${random.chance(0.5) ? `:${pad(random.int(0, 59))}` : ''}`;
  const choices = [
    () => `${last.toUpperCase()}^${first.toUpperCase()}`,
    () => `${last}, ${first}`,
    () => `Name: ${first} ${last}`,
    () => `${first} ${last}`,
    () => `DOB: ${year}-${pad(month)}-${pad(day)}`,
    () => `${pad(month)}/${pad(day)}/${year}`,
    () => `${pad(day)}.${pad(month)}.${year}`,
    () => `${pad(day)} ${MONTHS[month - 1]} ${year}`,
    () => `${year}${pad(month)}${pad(day)} ${time}`,
    () => time,
    () => `MRN: ${digits(random, 8)}`,
    () => `ID ${digits(random, 7)}`,
    () => `Acc# A${digits(random, 7)}`,
    () => `Tel ${digits(random, 3)}-${digits(random, 3)}-${digits(random, 4)}`,
    () => `SSN ${digits(random, 3)}-${digits(random, 2)}-${digits(random, 4)}`,
    () => `${random.int(1, 99)}Y ${random.pick(['M', 'F'])}`,
    () => `Age ${random.int(1, 99)}`,
    () => `${first.toLowerCase()}.${last.toLowerCase()}@mail.org`,
    () => random.pick(PLACES),
    () => `Dr. ${last}`,
  ];
  return random.pick(choices)();
}

export function safeLine(random: Random): string {
  const choices = [
    () => random.pick(['L', 'R', 'A', 'P', 'H', 'F', 'S', 'I']),
    () => random.pick(['L', 'R', 'A', 'P']),
    () => `${random.pick([80, 100, 120, 140])} kV`,
    () => `${random.int(20, 400)} mAs`,
    () => `${random.int(50, 500)} mA`,
    () => `W:${random.int(80, 2000)} L:${random.int(-600, 400)}`,
    () => `WW ${random.int(80, 2000)} WL ${random.int(20, 400)}`,
    () => `${random.pick([1, 2, 5, 10])} cm`,
    () => `${random.pick([5, 10, 20, 50])} mm`,
    () => random.pick(['T2 FLAIR', 'AX T1 POST', 'SAG T2', 'DWI b1000', 'COR STIR', 'ADC', 'T1 MPRAGE', 'SWI']),
    () => `Im: ${random.int(1, 60)}/${random.int(60, 200)}`,
    () => `Se: ${random.int(1, 12)}`,
    () => `Frame ${random.int(1, 29)}/30`,
    () => `Gain ${random.int(20, 80)}`,
    () => `Depth ${random.int(4, 24)} cm`,
    () => random.pick(['C5-1', 'L12-5', 'P4-2']),
    () => `${random.int(1, 9)}.${random.int(0, 9)} MHz`,
    // radiograph, mammography and CT/MR labels: laterality, view, body part, technique
    () => `${random.pick(['Left', 'Right', 'LEFT', 'RIGHT'])} ${random.pick(['knee', 'wrist', 'ankle', 'shoulder', 'hip', 'elbow', 'foot', 'hand'])}, ${random.pick(['lateral', 'AP', 'oblique', 'PA'])} view`,
    () => random.pick(['Skull lateral', 'Chest PA erect', 'Cervical spine flexion', 'Lumbar spine, lateral', 'Pelvis AP supine', 'Ankle mortise view', 'Bilateral feet, weight-bearing']),
    () => `${random.pick(['Left', 'Right', 'L', 'R'])} breast ${random.pick(['CC', 'MLO', 'ML'])}`,
    () => random.pick(['Coronal T2 fat sat', 'Axial T1 FS post-contrast', 'Sag T2 FSE', 'Out of phase', 'Whole body', 'Thick 5 mm']),
    () => `${random.pick(['CTDIvol', 'DLP'])} ${random.int(2, 900)} ${random.pick(['mGy', 'mGy*cm'])}`,
  ];
  return random.pick(choices)();
}
