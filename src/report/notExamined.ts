/** What a report says when `scan: never` left the pixels alone (images and DICOM alike): words an auditor reads. */
export const NEVER_REASON = 'scan: never — pixels were not examined for burned-in text: the policy trusts the provenance of this data';
