-- The central MySQL (>= 5.7) or MariaDB (>= 10.2) database that several devices send their
-- closed minutes to. `corcypower mysql init` runs this file statement by statement (every
-- statement can be run again without harm), then brings older tables up to date and adds the
-- triggers (corcypower/export/schema.py). Times are UTC: TimeStamp is the start of the minute
-- (of the quarter-hour, of the hour).

-- EnergyMonitor's table (Nicer82/EnergyMonitor, db.sql), so its queries keep working: one row
-- per point (device, or a group of its channels) per minute. Point is varchar(64) here (10
-- there): init widens an existing table's Point to 64. Supply/Usage: see docs/mysql.md.
CREATE TABLE IF NOT EXISTS `VolumeData` (
  `TimeStamp` datetime NOT NULL,
  `Point` varchar(64) NOT NULL,
  `NumReads` int(11) NOT NULL,
  `SupplyWh` double NOT NULL,
  `SupplyMaxW` double NOT NULL,
  `SupplyMinW` double NOT NULL,
  `SupplyAvgW` double NOT NULL,
  `UsageWh` double NOT NULL,
  `UsageMaxW` double NOT NULL,
  `UsageMinW` double NOT NULL,
  `UsageAvgW` double NOT NULL,
  `TotalAvgW` int(11) GENERATED ALWAYS AS (round(`SupplyAvgW` - `UsageAvgW`, 0)) VIRTUAL,
  `TotalMaxW` int(11) GENERATED ALWAYS AS (case when `SupplyMaxW` > 0 then `SupplyMaxW` else -`UsageMinW` end) VIRTUAL,
  `TotalMinW` int(11) GENERATED ALWAYS AS (case when `UsageMaxW` > 0 then -`UsageMaxW` else `SupplyMinW` end) VIRTUAL,
  PRIMARY KEY (`TimeStamp`, `Point`),
  KEY `PointTimestampIdx` (`Point`, `TimeStamp`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Each channel's minute as power.db has it (its energy_minute view), under the device's point.
--   ImportWh         energy drawn from the grid (P > 0); ExportWh: sent to it (P < 0), >= 0
--   MinW, MaxW       extremes of the minute's batches; AvgW: mean power over the measured time
--   NumReads         batches (about 0.5 s each) ending in the minute
--   MeasuredSeconds  time measured in the minute: less than 60 where the daemon had a gap
-- Clustered by device and channel, then time: a channel's history is one contiguous read
-- (with the time first, a device's month was 170,000 scattered reads: 30 s at 200 devices,
-- docs/mysql.md#sizing). Questions about every device at once go to ChannelHour.
CREATE TABLE IF NOT EXISTS `ChannelMinute` (
  `TimeStamp` datetime NOT NULL,
  `Point` varchar(64) NOT NULL,
  `Channel` varchar(64) NOT NULL,
  `ImportWh` double NOT NULL,
  `ExportWh` double NOT NULL,
  `MinW` double NOT NULL,
  `MaxW` double NOT NULL,
  `AvgW` double NOT NULL,
  `NumReads` int(11) NOT NULL,
  `MeasuredSeconds` double NOT NULL,
  PRIMARY KEY (`Point`, `Channel`, `TimeStamp`),
  CONSTRAINT `ChannelMinuteEnergy` CHECK (`ImportWh` >= 0 AND `ExportWh` >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Each channel's quarter-hour, hour and local day, kept by triggers (corcypower/export/
-- schema.py) from every ChannelMinute row written, by any writer: the house's and the fleet's
-- weeks, months and years read 15, 60 or 1440 times fewer rows. Sums add up the minutes;
-- MinW/MaxW are the extremes of the minutes written (a minute corrected later can only widen
-- them). Deleting minutes (or dropping their partitions) leaves these: minutes can be pruned
-- while the summaries are kept.
CREATE TABLE IF NOT EXISTS `ChannelHour` (
  `TimeStamp` datetime NOT NULL,
  `Point` varchar(64) NOT NULL,
  `Channel` varchar(64) NOT NULL,
  `ImportWh` double NOT NULL,
  `ExportWh` double NOT NULL,
  `MinW` double NOT NULL,
  `MaxW` double NOT NULL,
  `NumReads` int(11) NOT NULL,
  `MeasuredSeconds` double NOT NULL,
  PRIMARY KEY (`Point`, `Channel`, `TimeStamp`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `ChannelQuarter` LIKE `ChannelHour`;

-- Days are the central database's own local days (CorcyPowerTimeZone), daylight saving
-- included; clustered by day, so every device's month is one contiguous read.
CREATE TABLE IF NOT EXISTS `ChannelDay` (
  `Day` date NOT NULL,
  `Point` varchar(64) NOT NULL,
  `Channel` varchar(64) NOT NULL,
  `ImportWh` double NOT NULL,
  `ExportWh` double NOT NULL,
  `MinW` double NOT NULL,
  `MaxW` double NOT NULL,
  `NumReads` int(11) NOT NULL,
  `MeasuredSeconds` double NOT NULL,
  PRIMARY KEY (`Day`, `Point`, `Channel`),
  KEY `PointChannelDayIdx` (`Point`, `Channel`, `Day`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The central database's time zone, whose days ChannelDay counts: the UTC offset in force
-- from each StartsAt (UTC) on, 1970 to 2100 (`corcypower mysql init --timezone` sets it).
CREATE TABLE IF NOT EXISTS `CorcyPowerTimeZone` (
  `StartsAt` datetime NOT NULL,
  `OffsetMinutes` smallint NOT NULL,
  `Name` varchar(64) NOT NULL,
  PRIMARY KEY (`StartsAt`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The one-off upgrade steps init has completed (such as filling ChannelHour from the minutes
-- already there), each recorded in the transaction that did it, so none is done twice or lost.
CREATE TABLE IF NOT EXISTS `CorcyPowerSchema` (
  `Step` varchar(64) NOT NULL,
  `DoneAt` datetime NOT NULL,
  PRIMARY KEY (`Step`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
