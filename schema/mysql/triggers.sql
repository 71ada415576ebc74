-- ChannelHour follows ChannelMinute: every minute inserted is added to its hour, and a minute
-- sent again (the exporter's upsert) adds the difference, usually nothing. `corcypower mysql
-- init` creates each trigger that is missing. With binary logging on, creating a trigger needs
-- SUPER (or log_bin_trust_function_creators = 1): run init as an administrator there.

CREATE TRIGGER `ChannelMinuteHourInsert` AFTER INSERT ON `ChannelMinute` FOR EACH ROW
  INSERT INTO `ChannelHour` (`TimeStamp`, `Point`, `Channel`, `ImportWh`, `ExportWh`, `MinW`,
                             `MaxW`, `NumReads`, `MeasuredSeconds`)
  VALUES (DATE_FORMAT(NEW.`TimeStamp`, '%Y-%m-%d %H:00:00'), NEW.`Point`, NEW.`Channel`,
          NEW.`ImportWh`, NEW.`ExportWh`, NEW.`MinW`, NEW.`MaxW`, NEW.`NumReads`,
          NEW.`MeasuredSeconds`)
  ON DUPLICATE KEY UPDATE `ImportWh` = `ImportWh` + NEW.`ImportWh`,
    `ExportWh` = `ExportWh` + NEW.`ExportWh`, `MinW` = LEAST(`MinW`, NEW.`MinW`),
    `MaxW` = GREATEST(`MaxW`, NEW.`MaxW`), `NumReads` = `NumReads` + NEW.`NumReads`,
    `MeasuredSeconds` = `MeasuredSeconds` + NEW.`MeasuredSeconds`;

CREATE TRIGGER `ChannelMinuteHourUpdate` AFTER UPDATE ON `ChannelMinute` FOR EACH ROW
  INSERT INTO `ChannelHour` (`TimeStamp`, `Point`, `Channel`, `ImportWh`, `ExportWh`, `MinW`,
                             `MaxW`, `NumReads`, `MeasuredSeconds`)
  VALUES (DATE_FORMAT(NEW.`TimeStamp`, '%Y-%m-%d %H:00:00'), NEW.`Point`, NEW.`Channel`,
          NEW.`ImportWh` - OLD.`ImportWh`, NEW.`ExportWh` - OLD.`ExportWh`, NEW.`MinW`,
          NEW.`MaxW`, NEW.`NumReads` - OLD.`NumReads`,
          NEW.`MeasuredSeconds` - OLD.`MeasuredSeconds`)
  ON DUPLICATE KEY UPDATE `ImportWh` = `ImportWh` + NEW.`ImportWh` - OLD.`ImportWh`,
    `ExportWh` = `ExportWh` + NEW.`ExportWh` - OLD.`ExportWh`, `MinW` = LEAST(`MinW`, NEW.`MinW`),
    `MaxW` = GREATEST(`MaxW`, NEW.`MaxW`), `NumReads` = `NumReads` + NEW.`NumReads` - OLD.`NumReads`,
    `MeasuredSeconds` = `MeasuredSeconds` + NEW.`MeasuredSeconds` - OLD.`MeasuredSeconds`;
