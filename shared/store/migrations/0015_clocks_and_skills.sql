-- The language to speak with a lead's contact (reps' languages are matched against it).
ALTER TABLE leads ADD COLUMN language text NOT NULL DEFAULT '';
