import { describe, expect, it } from 'vitest';
import { classifyText } from '../../../src/image/phi/classify.js';
import { buildHeaderMatcher, datesInLine, withinOneEdit } from '../../../src/image/phi/headerValues.js';
import { isSafeLine } from '../../../src/image/phi/allowList.js';

describe('allow-list of technical text', () => {
  it.each(['L', 'R', 'A', 'P', 'H', 'F', 'S', 'I', '120 kV', '250 mAs', 'W:400 L:40', 'WW 1520 WL 105', 'WW1068WL 330', '5 cm', '10mm', 'T2 FLAIR', 'AX T1 POST', 'Im: 12/40', 'Se: 3', 'Frame 3/30', 'DWI b1000', 'Gain68', 'Depth 16 cm', 'C5-1', '3.5 MHz'])(
    'keeps %s',
    (text) => {
      expect(isSafeLine(text)).toBe(true);
      expect(classifyText(text, 0.95, undefined).class).toBe('safe');
    },
  );
});

describe('PHI patterns', () => {
  it.each([
    ['SMITH^JOHN', 'name'],
    ['DOB: 1985-03-12', 'date'],
    ['03/12/1985', 'date'],
    ['12 MAR 1985', 'date'],
    ['20240105 14:32', 'date'],
    ['14:32:10', 'time'],
    ['MRN: 12345678', 'id'],
    ['Acc# A1234567', 'id'],
    ['Tel 555-123-4567', 'phone'],
    ['SSN 123-45-6789', 'ssn'],
    ['45Y F', 'age'],
    ['john.doe@mail.org', 'email'],
    ['St. Mary Hospital', 'label'],
  ])('%s is PHI (%s)', (text, reason) => {
    const verdict = classifyText(text, 0.95, undefined);
    expect(verdict.class).toBe('phi');
    expect(verdict.reason).toBe(reason);
  });

  it('treats unknown words as PHI (fail closed) and low confidence as unreadable', () => {
    expect(classifyText('Lakeside', 0.99, undefined).class).toBe('phi');
    expect(classifyText('120 kV', 0.3, undefined).class).toBe('unreadable');
    expect(classifyText('', 0.99, undefined).class).toBe('unreadable');
    // allow-listed text read with middling confidence is not trusted as safe
    expect(classifyText('R', 0.6, undefined).class).toBe('unreadable');
  });
});

describe('header values', () => {
  const header = buildHeaderMatcher(['KAUFMAN^SCOTT', '19560214', 'A0012345', 'Mercy General']);

  it('finds names in any order and case, with one OCR error', () => {
    expect(header.matches('SCOTT KAUFMAN')).toBe(true);
    expect(header.matches('KAUFMAN, SCOTT')).toBe(true);
    expect(header.matches('KAUFNAN S')).toBe(true);
    expect(header.matches('120 KV')).toBe(false);
  });

  it('finds dates in common formats and IDs inside lines', () => {
    for (const line of ['DOB 1956-02-14', '02/14/1956', '14.02.1956', '14 FEB 1956', 'FEB 14, 1956', '19560214', '14/02/56']) {
      expect(header.matches(line)).toBe(true);
    }
    expect(header.matches('ID:A0012345')).toBe(true);
    expect(header.matches('1956-02-15')).toBe(false);
    expect(classifyText('Scott', 0.9, header)).toEqual({ class: 'phi', reason: 'header' });
  });

  it('reads both day-first and month-first dates', () => {
    const dates = datesInLine('03/04/2020');
    expect(dates).toContainEqual({ year: 2020, month: 4, day: 3 });
    expect(dates).toContainEqual({ year: 2020, month: 3, day: 4 });
    expect(withinOneEdit('KAUFMAN', 'KAUFMN')).toBe(true);
    expect(withinOneEdit('KAUFMAN', 'KOFMN')).toBe(false);
  });
});

describe('OCR spacing', () => {
  it('sees times and dates through spaces around separators', () => {
    expect(classifyText('12 :15', 0.93, undefined)).toEqual({ class: 'phi', reason: 'time' });
    expect(classifyText('03 / 12/1985', 0.93, undefined).class).toBe('phi');
    expect(isSafeLine('12:15')).toBe(false);
  });
});

describe('OCR dropping spaces', () => {
  it('sees a date glued into one token', () => {
    expect(classifyText('170CT1977', 0.99, undefined).class).toBe('phi');
    expect(classifyText('AX T1 POST', 0.99, undefined).class).toBe('safe');
  });
});

describe('anatomy, position and acquisition vocabulary', () => {
  it.each([
    'Left knee, lateral view',
    'Skull lateral',
    'Left breast MLO',
    'Bilateral feet, weight-bearing',
    'Cervical spine flexion',
    'Ankle mortise view',
    'Left wrist, 2 views',
    'Lumbar spine, lateral',
    'Whole body 45 keV',
    'Out of phase',
  ])('keeps "%s" (technical, not PHI)', (line) => {
    expect(classifyText(line, 0.95, undefined)).toEqual({ class: 'safe', reason: 'allow-list' });
  });

  it('still fills names, dates and IDs next to the new words', () => {
    expect(classifyText('Left knee, John Smith', 0.95, undefined).class).toBe('phi');
    expect(classifyText('Lateral view 14/03/1957', 0.95, undefined).class).toBe('phi');
    expect(classifyText('Skull MRN 12345678', 0.95, undefined).class).toBe('phi');
    expect(classifyText('Knee Okafor', 0.95, undefined).class).toBe('phi');
  });
});
