"""NuGet v2 (OData/Atom) and v3 (JSON) dialects over the same repository core."""
