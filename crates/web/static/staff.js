// Praxis — staff pages: small enhancements only; every page works without this file.
"use strict";
