"""Everything that talks to, or stands for, the MetaKraftwerk Releases API."""
