"""Report builders (Excel, openpyxl)."""
