"""CDISC SDTM (SDTMIG 3.4) of a study: the datasets' variables (domains), their SELECTs
(queries); define.xml is diary.exports.define, the file formats diary.exports.formats."""
