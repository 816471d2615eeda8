-- AzuraCast's schema, derived by tests/importers/azuracast/make_schema.py
-- from the Doctrine migrations of github.com/AzuraCast/AzuraCast
-- upstream commit: 4923bde4e3570d8734ebe478f4f644102566515b
-- newest migration: Version20260807193430
-- migrations replayed: 241
/*M!999999\- enable the sandbox mode */ 
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: 127.0.0.1    Database: azuracast
-- ------------------------------------------------------
-- Server version	10.11.19-MariaDB-0+deb12u1

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES UTF8MB4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Table structure for table `analytics`
--

DROP TABLE IF EXISTS `analytics`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `analytics` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) DEFAULT NULL,
  `type` varchar(15) NOT NULL,
  `number_min` int(11) NOT NULL,
  `number_max` int(11) NOT NULL,
  `number_avg` decimal(10,2) NOT NULL,
  `moment` datetime NOT NULL,
  `number_unique` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `stats_unique_idx` (`station_id`,`type`,`moment`),
  KEY `IDX_EAC2E68821BDB235` (`station_id`),
  KEY `search_idx` (`type`,`moment`),
  CONSTRAINT `FK_EAC2E68821BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `api_keys`
--

DROP TABLE IF EXISTS `api_keys`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `api_keys` (
  `id` varchar(16) NOT NULL,
  `user_id` int(11) NOT NULL,
  `verifier` varchar(128) NOT NULL,
  `comment` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_9579321FA76ED395` (`user_id`),
  CONSTRAINT `FK_9579321FA76ED395` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `app_migrations`
--

DROP TABLE IF EXISTS `app_migrations`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `app_migrations` (
  `version` varchar(191) NOT NULL,
  `executed_at` datetime DEFAULT NULL,
  `execution_time` int(11) DEFAULT NULL,
  PRIMARY KEY (`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `audit_log`
--

DROP TABLE IF EXISTS `audit_log`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `audit_log` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `timestamp` int(11) NOT NULL,
  `operation` smallint(6) NOT NULL,
  `class` varchar(255) NOT NULL,
  `identifier` varchar(255) NOT NULL,
  `target_class` varchar(255) DEFAULT NULL,
  `target` varchar(255) DEFAULT NULL,
  `changes` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL CHECK (json_valid(`changes`)),
  `user` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_search` (`class`,`user`,`identifier`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `custom_field`
--

DROP TABLE IF EXISTS `custom_field`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `custom_field` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `short_name` varchar(100) NOT NULL,
  `auto_assign` varchar(100) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `listener`
--

DROP TABLE IF EXISTS `listener`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `listener` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `listener_uid` int(11) NOT NULL,
  `listener_ip` varchar(45) NOT NULL,
  `listener_user_agent` varchar(255) NOT NULL,
  `timestamp_start` int(11) NOT NULL,
  `timestamp_end` int(11) NOT NULL,
  `listener_hash` varchar(32) NOT NULL,
  `mount_id` int(11) DEFAULT NULL,
  `remote_id` int(11) DEFAULT NULL,
  `location_description` varchar(255) NOT NULL,
  `location_region` varchar(150) DEFAULT NULL,
  `location_city` varchar(150) DEFAULT NULL,
  `location_country` varchar(2) DEFAULT NULL,
  `location_lat` decimal(10,6) DEFAULT NULL,
  `location_lon` decimal(10,6) DEFAULT NULL,
  `device_client` varchar(255) NOT NULL,
  `device_is_browser` tinyint(1) NOT NULL,
  `device_is_mobile` tinyint(1) NOT NULL,
  `device_is_bot` tinyint(1) NOT NULL,
  `device_browser_family` varchar(150) DEFAULT NULL,
  `device_os_family` varchar(150) DEFAULT NULL,
  `hls_stream_id` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_959C342221BDB235` (`station_id`),
  KEY `IDX_959C3422538228B8` (`mount_id`),
  KEY `IDX_959C34222A3E9C94` (`remote_id`),
  KEY `idx_statistics_country` (`location_country`),
  KEY `idx_statistics_os` (`device_os_family`),
  KEY `idx_statistics_browser` (`device_browser_family`),
  KEY `IDX_959C34226FE7D59F` (`hls_stream_id`),
  KEY `idx_timestamps` (`timestamp_end`,`timestamp_start`),
  KEY `idx_timestamp_start` (`timestamp_start`),
  KEY `idx_station_timestamps_hash` (`station_id`,`timestamp_end`,`timestamp_start`,`listener_hash`),
  CONSTRAINT `FK_959C342221BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_959C34222A3E9C94` FOREIGN KEY (`remote_id`) REFERENCES `station_remotes` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_959C3422538228B8` FOREIGN KEY (`mount_id`) REFERENCES `station_mounts` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_959C34226FE7D59F` FOREIGN KEY (`hls_stream_id`) REFERENCES `station_hls_streams` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `podcast`
--

DROP TABLE IF EXISTS `podcast`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `podcast` (
  `id` char(36) NOT NULL,
  `storage_location_id` int(11) NOT NULL,
  `title` varchar(255) NOT NULL,
  `link` varchar(255) DEFAULT NULL,
  `description` longtext NOT NULL,
  `is_enabled` tinyint(1) NOT NULL,
  `language` varchar(2) NOT NULL,
  `art_updated_at` int(11) NOT NULL,
  `author` varchar(255) NOT NULL,
  `email` varchar(255) NOT NULL,
  `playlist_id` int(11) DEFAULT NULL,
  `source` varchar(50) NOT NULL,
  `playlist_auto_publish` tinyint(1) NOT NULL,
  `branding_config` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`branding_config`)),
  `explicit` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_D7E805BDCDDD8AF` (`storage_location_id`),
  KEY `IDX_D7E805BD6BBD148` (`playlist_id`),
  CONSTRAINT `FK_D7E805BD6BBD148` FOREIGN KEY (`playlist_id`) REFERENCES `station_playlists` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_D7E805BDCDDD8AF` FOREIGN KEY (`storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `podcast_category`
--

DROP TABLE IF EXISTS `podcast_category`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `podcast_category` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `podcast_id` char(36) NOT NULL,
  `category` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_E633B1E8786136AB` (`podcast_id`),
  CONSTRAINT `FK_E633B1E8786136AB` FOREIGN KEY (`podcast_id`) REFERENCES `podcast` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `podcast_episode`
--

DROP TABLE IF EXISTS `podcast_episode`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `podcast_episode` (
  `id` char(36) NOT NULL,
  `podcast_id` char(36) NOT NULL,
  `title` varchar(255) NOT NULL,
  `link` varchar(255) DEFAULT NULL,
  `description` longtext NOT NULL,
  `publish_at` int(11) NOT NULL,
  `explicit` tinyint(1) NOT NULL,
  `created_at` int(11) NOT NULL,
  `art_updated_at` int(11) NOT NULL,
  `playlist_media_id` int(11) DEFAULT NULL,
  `season_number` int(11) DEFAULT NULL,
  `episode_number` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_77EB2BD0786136AB` (`podcast_id`),
  KEY `IDX_77EB2BD017421B18` (`playlist_media_id`),
  CONSTRAINT `FK_77EB2BD017421B18` FOREIGN KEY (`playlist_media_id`) REFERENCES `station_media` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_77EB2BD0786136AB` FOREIGN KEY (`podcast_id`) REFERENCES `podcast` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `podcast_media`
--

DROP TABLE IF EXISTS `podcast_media`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `podcast_media` (
  `id` char(36) NOT NULL,
  `storage_location_id` int(11) NOT NULL,
  `episode_id` char(36) DEFAULT NULL,
  `original_name` varchar(200) NOT NULL,
  `length` decimal(7,2) NOT NULL,
  `length_text` varchar(10) NOT NULL,
  `path` varchar(500) NOT NULL,
  `mime_type` varchar(255) NOT NULL,
  `modified_time` int(11) NOT NULL,
  `art_updated_at` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `UNIQ_15AD8829362B62A0` (`episode_id`),
  KEY `IDX_15AD8829CDDD8AF` (`storage_location_id`),
  CONSTRAINT `FK_15AD8829362B62A0` FOREIGN KEY (`episode_id`) REFERENCES `podcast_episode` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_15AD8829CDDD8AF` FOREIGN KEY (`storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `relays`
--

DROP TABLE IF EXISTS `relays`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `relays` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `base_url` varchar(255) NOT NULL,
  `name` varchar(100) DEFAULT NULL,
  `is_visible_on_public_pages` tinyint(1) NOT NULL,
  `created_at` int(11) NOT NULL,
  `updated_at` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `role`
--

DROP TABLE IF EXISTS `role`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `role` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `role_permissions`
--

DROP TABLE IF EXISTS `role_permissions`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `role_permissions` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `role_id` int(11) NOT NULL,
  `station_id` int(11) DEFAULT NULL,
  `action_name` varchar(50) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `role_permission_unique_idx` (`role_id`,`action_name`,`station_id`),
  KEY `IDX_1FBA94E6D60322AC` (`role_id`),
  KEY `IDX_1FBA94E621BDB235` (`station_id`),
  CONSTRAINT `FK_1FBA94E621BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_1FBA94E6D60322AC` FOREIGN KEY (`role_id`) REFERENCES `role` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `settings`
--

DROP TABLE IF EXISTS `settings`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `settings` (
  `app_unique_identifier` char(36) NOT NULL,
  `base_url` varchar(255) DEFAULT NULL,
  `instance_name` varchar(255) DEFAULT NULL,
  `prefer_browser_url` tinyint(1) NOT NULL,
  `use_radio_proxy` tinyint(1) NOT NULL,
  `history_keep_days` smallint(6) NOT NULL,
  `always_use_ssl` tinyint(1) NOT NULL,
  `api_access_control` varchar(255) DEFAULT NULL,
  `enable_liquidsoap_editing` tinyint(4) NOT NULL,
  `enable_static_nowplaying` tinyint(1) NOT NULL,
  `analytics` varchar(50) DEFAULT NULL,
  `check_for_updates` tinyint(1) NOT NULL,
  `update_results` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`update_results`)),
  `update_last_run` int(11) NOT NULL,
  `public_theme` varchar(50) DEFAULT NULL,
  `hide_album_art` tinyint(1) NOT NULL,
  `homepage_redirect_url` varchar(255) DEFAULT NULL,
  `default_album_art_url` varchar(255) DEFAULT NULL,
  `use_external_album_art_when_processing_media` tinyint(1) NOT NULL,
  `use_external_album_art_in_apis` tinyint(1) NOT NULL,
  `last_fm_api_key` varchar(255) DEFAULT NULL,
  `hide_product_name` tinyint(1) NOT NULL,
  `public_custom_css` longtext DEFAULT NULL,
  `public_custom_js` longtext DEFAULT NULL,
  `internal_custom_css` longtext DEFAULT NULL,
  `backup_enabled` tinyint(1) NOT NULL,
  `backup_time_code` varchar(4) DEFAULT NULL,
  `backup_exclude_media` tinyint(1) NOT NULL,
  `backup_keep_copies` smallint(6) NOT NULL,
  `backup_storage_location` int(11) DEFAULT NULL,
  `backup_last_run` int(11) NOT NULL,
  `backup_last_output` longtext DEFAULT NULL,
  `setup_complete_time` int(11) NOT NULL,
  `external_ip` varchar(45) DEFAULT NULL,
  `geolite_license_key` varchar(255) DEFAULT NULL,
  `geolite_last_run` int(11) NOT NULL,
  `mail_enabled` tinyint(1) NOT NULL,
  `mail_sender_name` varchar(255) DEFAULT NULL,
  `mail_sender_email` varchar(255) DEFAULT NULL,
  `mail_smtp_host` varchar(255) DEFAULT NULL,
  `mail_smtp_port` smallint(6) NOT NULL,
  `mail_smtp_username` varchar(255) DEFAULT NULL,
  `mail_smtp_password` varchar(255) DEFAULT NULL,
  `mail_smtp_secure` tinyint(1) NOT NULL,
  `avatar_service` varchar(25) DEFAULT NULL,
  `avatar_default_url` varchar(255) DEFAULT NULL,
  `sync_disabled` tinyint(1) NOT NULL,
  `sync_last_run` int(11) NOT NULL,
  `backup_format` varchar(255) DEFAULT NULL,
  `acme_email` varchar(255) DEFAULT NULL,
  `acme_domains` varchar(255) DEFAULT NULL,
  `ip_source` varchar(50) DEFAULT NULL,
  `enable_all_webhooks` tinyint(4) NOT NULL,
  `filter_local_user_urls` tinyint(4) NOT NULL,
  PRIMARY KEY (`app_unique_identifier`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `sftp_user`
--

DROP TABLE IF EXISTS `sftp_user`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `sftp_user` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `username` varchar(32) NOT NULL,
  `password` varchar(255) NOT NULL,
  `public_keys` longtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `username_idx` (`username`),
  KEY `IDX_3C32EA3421BDB235` (`station_id`),
  CONSTRAINT `FK_3C32EA3421BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `song_history`
--

DROP TABLE IF EXISTS `song_history`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `song_history` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `song_id` varchar(50) NOT NULL,
  `station_id` int(11) NOT NULL,
  `timestamp_start` int(11) NOT NULL,
  `listeners_start` int(11) DEFAULT NULL,
  `timestamp_end` int(11) NOT NULL,
  `listeners_end` int(11) DEFAULT NULL,
  `delta_total` int(11) NOT NULL,
  `delta_positive` int(11) NOT NULL,
  `delta_negative` int(11) NOT NULL,
  `delta_points` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`delta_points`)),
  `playlist_id` int(11) DEFAULT NULL,
  `request_id` int(11) DEFAULT NULL,
  `unique_listeners` int(11) DEFAULT NULL,
  `media_id` int(11) DEFAULT NULL,
  `duration` double DEFAULT NULL,
  `streamer_id` int(11) DEFAULT NULL,
  `text` varchar(512) DEFAULT NULL,
  `artist` varchar(255) DEFAULT NULL,
  `title` varchar(255) DEFAULT NULL,
  `album` varchar(200) DEFAULT NULL,
  `is_visible` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_2AD1616421BDB235` (`station_id`),
  KEY `IDX_2AD161646BBD148` (`playlist_id`),
  KEY `IDX_2AD16164EA9FDD75` (`media_id`),
  KEY `IDX_2AD1616425F432AD` (`streamer_id`),
  KEY `IDX_2AD16164427EB8A5` (`request_id`),
  KEY `idx_is_visible` (`is_visible`),
  KEY `idx_timestamp_start` (`timestamp_start`),
  KEY `idx_timestamp_end` (`timestamp_end`),
  KEY `idx_station_visible_id` (`station_id`,`is_visible`,`id`),
  KEY `idx_station_timestamps` (`station_id`,`timestamp_end`,`timestamp_start`),
  CONSTRAINT `FK_2AD1616421BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_2AD1616425F432AD` FOREIGN KEY (`streamer_id`) REFERENCES `station_streamers` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_2AD16164427EB8A5` FOREIGN KEY (`request_id`) REFERENCES `station_requests` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_2AD161646BBD148` FOREIGN KEY (`playlist_id`) REFERENCES `station_playlists` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_2AD16164EA9FDD75` FOREIGN KEY (`media_id`) REFERENCES `station_media` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station`
--

DROP TABLE IF EXISTS `station`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL,
  `frontend_type` varchar(100) NOT NULL,
  `frontend_config` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`frontend_config`)),
  `backend_type` varchar(100) NOT NULL,
  `backend_config` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`backend_config`)),
  `description` longtext DEFAULT NULL,
  `enable_requests` tinyint(1) NOT NULL,
  `request_delay` int(11) DEFAULT NULL,
  `enable_streamers` tinyint(1) NOT NULL,
  `needs_restart` tinyint(1) NOT NULL,
  `request_threshold` int(11) DEFAULT NULL,
  `url` varchar(255) DEFAULT NULL,
  `radio_base_dir` varchar(255) NOT NULL,
  `has_started` tinyint(1) NOT NULL,
  `adapter_api_key` varchar(150) DEFAULT NULL,
  `enable_public_page` tinyint(1) NOT NULL,
  `enable_public_api` tinyint(4) NOT NULL,
  `short_name` varchar(100) NOT NULL,
  `current_streamer_id` int(11) DEFAULT NULL,
  `is_streamer_live` tinyint(1) NOT NULL,
  `is_enabled` tinyint(1) NOT NULL,
  `api_history_items` smallint(6) NOT NULL,
  `disconnect_deactivate_streamer` int(11) DEFAULT 0,
  `genre` varchar(255) DEFAULT NULL,
  `timezone` varchar(100) NOT NULL,
  `enable_on_demand` tinyint(1) NOT NULL,
  `media_storage_location_id` int(11) NOT NULL,
  `recordings_storage_location_id` int(11) NOT NULL,
  `enable_on_demand_download` tinyint(1) NOT NULL,
  `podcasts_storage_location_id` int(11) NOT NULL,
  `fallback_path` varchar(255) DEFAULT NULL,
  `enable_hls` tinyint(1) NOT NULL,
  `current_song_id` int(11) DEFAULT NULL,
  `branding_config` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`branding_config`)),
  `max_bitrate` smallint(6) NOT NULL DEFAULT 0,
  `max_mounts` smallint(6) NOT NULL DEFAULT 0,
  `max_hls_streams` smallint(6) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `IDX_9F39F8B19B209974` (`current_streamer_id`),
  KEY `idx_short_name` (`short_name`),
  KEY `IDX_9F39F8B1C896ABC5` (`media_storage_location_id`),
  KEY `IDX_9F39F8B15C7361BE` (`recordings_storage_location_id`),
  KEY `IDX_9F39F8B123303CD0` (`podcasts_storage_location_id`),
  KEY `IDX_9F39F8B1AB03776` (`current_song_id`),
  CONSTRAINT `FK_9F39F8B123303CD0` FOREIGN KEY (`podcasts_storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_9F39F8B15C7361BE` FOREIGN KEY (`recordings_storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_9F39F8B19B209974` FOREIGN KEY (`current_streamer_id`) REFERENCES `station_streamers` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_9F39F8B1AB03776` FOREIGN KEY (`current_song_id`) REFERENCES `song_history` (`id`) ON DELETE SET NULL,
  CONSTRAINT `FK_9F39F8B1C896ABC5` FOREIGN KEY (`media_storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_hls_streams`
--

DROP TABLE IF EXISTS `station_hls_streams`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_hls_streams` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `name` varchar(100) NOT NULL,
  `format` varchar(10) DEFAULT NULL,
  `bitrate` smallint(6) DEFAULT NULL,
  `listeners` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_9ECC9CD021BDB235` (`station_id`),
  CONSTRAINT `FK_9ECC9CD021BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_media`
--

DROP TABLE IF EXISTS `station_media`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_media` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `song_id` varchar(50) NOT NULL,
  `title` varchar(255) DEFAULT NULL,
  `artist` varchar(255) DEFAULT NULL,
  `album` varchar(200) DEFAULT NULL,
  `length` double NOT NULL,
  `path` varchar(500) NOT NULL,
  `mtime` int(11) NOT NULL,
  `uploaded_at` int(11) NOT NULL,
  `isrc` varchar(15) DEFAULT NULL,
  `lyrics` longtext DEFAULT NULL,
  `unique_id` varchar(25) NOT NULL,
  `art_updated_at` int(11) NOT NULL,
  `text` varchar(512) DEFAULT NULL,
  `genre` varchar(255) DEFAULT NULL,
  `storage_location_id` int(11) NOT NULL,
  `extra_metadata` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`extra_metadata`)),
  PRIMARY KEY (`id`),
  UNIQUE KEY `path_unique_idx` (`path`,`storage_location_id`),
  KEY `search_idx` (`title`,`artist`,`album`),
  KEY `IDX_32AADE3ACDDD8AF` (`storage_location_id`),
  CONSTRAINT `FK_32AADE3ACDDD8AF` FOREIGN KEY (`storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_media_custom_field`
--

DROP TABLE IF EXISTS `station_media_custom_field`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_media_custom_field` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `media_id` int(11) NOT NULL,
  `field_id` int(11) NOT NULL,
  `field_value` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_35DC02AAEA9FDD75` (`media_id`),
  KEY `IDX_35DC02AA443707B0` (`field_id`),
  CONSTRAINT `FK_35DC02AA443707B0` FOREIGN KEY (`field_id`) REFERENCES `custom_field` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_35DC02AAEA9FDD75` FOREIGN KEY (`media_id`) REFERENCES `station_media` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_mounts`
--

DROP TABLE IF EXISTS `station_mounts`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_mounts` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `name` varchar(100) NOT NULL,
  `is_default` tinyint(1) NOT NULL,
  `fallback_mount` varchar(100) DEFAULT NULL,
  `enable_autodj` tinyint(1) NOT NULL,
  `autodj_format` varchar(10) DEFAULT NULL,
  `autodj_bitrate` smallint(6) DEFAULT NULL,
  `frontend_config` longtext DEFAULT NULL,
  `relay_url` varchar(255) DEFAULT NULL,
  `is_public` tinyint(1) NOT NULL,
  `authhash` varchar(255) DEFAULT NULL,
  `custom_listen_url` varchar(255) DEFAULT NULL,
  `display_name` varchar(255) NOT NULL,
  `is_visible_on_public_pages` tinyint(1) NOT NULL,
  `listeners_unique` int(11) NOT NULL,
  `listeners_total` int(11) NOT NULL,
  `max_listener_duration` int(11) NOT NULL,
  `intro_path` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_4DDF64AD21BDB235` (`station_id`),
  CONSTRAINT `FK_4DDF64AD21BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_playlist_folders`
--

DROP TABLE IF EXISTS `station_playlist_folders`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_playlist_folders` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `playlist_id` int(11) NOT NULL,
  `path` varchar(500) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_15190AE921BDB235` (`station_id`),
  KEY `IDX_15190AE96BBD148` (`playlist_id`),
  CONSTRAINT `FK_15190AE921BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_15190AE96BBD148` FOREIGN KEY (`playlist_id`) REFERENCES `station_playlists` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_playlist_media`
--

DROP TABLE IF EXISTS `station_playlist_media`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_playlist_media` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `playlist_id` int(11) NOT NULL,
  `media_id` int(11) NOT NULL,
  `weight` int(11) NOT NULL,
  `last_played` int(11) NOT NULL,
  `is_queued` tinyint(1) NOT NULL,
  `folder_id` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_EA70D7796BBD148` (`playlist_id`),
  KEY `IDX_EA70D779EA9FDD75` (`media_id`),
  KEY `IDX_EA70D779162CB942` (`folder_id`),
  CONSTRAINT `FK_EA70D779162CB942` FOREIGN KEY (`folder_id`) REFERENCES `station_playlist_folders` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_EA70D7796BBD148` FOREIGN KEY (`playlist_id`) REFERENCES `station_playlists` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_EA70D779EA9FDD75` FOREIGN KEY (`media_id`) REFERENCES `station_media` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_playlists`
--

DROP TABLE IF EXISTS `station_playlists`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_playlists` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `name` varchar(200) NOT NULL,
  `description` longtext DEFAULT NULL,
  `type` varchar(50) NOT NULL,
  `is_enabled` tinyint(1) NOT NULL,
  `play_per_songs` smallint(6) NOT NULL,
  `play_per_minutes` smallint(6) NOT NULL,
  `weight` smallint(6) NOT NULL,
  `source` varchar(50) NOT NULL,
  `include_in_requests` tinyint(1) NOT NULL,
  `playback_order` varchar(50) NOT NULL,
  `remote_url` varchar(255) DEFAULT NULL,
  `remote_type` varchar(25) DEFAULT NULL,
  `is_jingle` tinyint(1) NOT NULL,
  `play_per_hour_minute` smallint(6) NOT NULL,
  `remote_timeout` smallint(6) NOT NULL,
  `backend_options` varchar(255) DEFAULT NULL,
  `played_at` int(11) NOT NULL,
  `include_in_on_demand` tinyint(1) NOT NULL,
  `avoid_duplicates` tinyint(1) NOT NULL,
  `queue_reset_at` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_DC827F7421BDB235` (`station_id`),
  CONSTRAINT `FK_DC827F7421BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_queue`
--

DROP TABLE IF EXISTS `station_queue`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_queue` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `song_id` varchar(50) NOT NULL,
  `station_id` int(11) NOT NULL,
  `playlist_id` int(11) DEFAULT NULL,
  `media_id` int(11) DEFAULT NULL,
  `request_id` int(11) DEFAULT NULL,
  `sent_to_autodj` tinyint(1) NOT NULL,
  `autodj_custom_uri` varchar(255) DEFAULT NULL,
  `timestamp_cued` int(11) NOT NULL,
  `duration` double DEFAULT NULL,
  `text` varchar(512) DEFAULT NULL,
  `artist` varchar(255) DEFAULT NULL,
  `title` varchar(255) DEFAULT NULL,
  `album` varchar(200) DEFAULT NULL,
  `is_played` tinyint(1) NOT NULL,
  `timestamp_played` int(11) NOT NULL,
  `is_visible` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_277B005521BDB235` (`station_id`),
  KEY `IDX_277B00556BBD148` (`playlist_id`),
  KEY `IDX_277B0055EA9FDD75` (`media_id`),
  KEY `IDX_277B0055427EB8A5` (`request_id`),
  KEY `idx_is_played` (`is_played`),
  KEY `idx_sent_to_autodj` (`sent_to_autodj`),
  KEY `idx_timestamp_played` (`timestamp_played`),
  KEY `idx_timestamp_cued` (`timestamp_cued`),
  CONSTRAINT `FK_277B005521BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_277B0055427EB8A5` FOREIGN KEY (`request_id`) REFERENCES `station_requests` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_277B00556BBD148` FOREIGN KEY (`playlist_id`) REFERENCES `station_playlists` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_277B0055EA9FDD75` FOREIGN KEY (`media_id`) REFERENCES `station_media` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_remotes`
--

DROP TABLE IF EXISTS `station_remotes`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_remotes` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `type` varchar(50) NOT NULL,
  `enable_autodj` tinyint(1) NOT NULL,
  `autodj_format` varchar(10) DEFAULT NULL,
  `autodj_bitrate` smallint(6) DEFAULT NULL,
  `custom_listen_url` varchar(255) DEFAULT NULL,
  `url` varchar(255) NOT NULL,
  `mount` varchar(150) DEFAULT NULL,
  `source_username` varchar(100) DEFAULT NULL,
  `source_password` varchar(100) DEFAULT NULL,
  `source_port` smallint(5) unsigned DEFAULT NULL,
  `source_mount` varchar(150) DEFAULT NULL,
  `is_public` tinyint(1) NOT NULL,
  `display_name` varchar(255) NOT NULL,
  `is_visible_on_public_pages` tinyint(1) NOT NULL,
  `relay_id` int(11) DEFAULT NULL,
  `listeners_unique` int(11) NOT NULL,
  `listeners_total` int(11) NOT NULL,
  `admin_password` varchar(100) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_779D0E8A21BDB235` (`station_id`),
  KEY `IDX_779D0E8A68A482E` (`relay_id`),
  CONSTRAINT `FK_779D0E8A21BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_779D0E8A68A482E` FOREIGN KEY (`relay_id`) REFERENCES `relays` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_requests`
--

DROP TABLE IF EXISTS `station_requests`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_requests` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `track_id` int(11) NOT NULL,
  `timestamp` int(11) NOT NULL,
  `played_at` int(11) NOT NULL,
  `ip` varchar(40) NOT NULL,
  `skip_delay` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_F71F0C0721BDB235` (`station_id`),
  KEY `IDX_F71F0C075ED23C43` (`track_id`),
  CONSTRAINT `FK_F71F0C0721BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_F71F0C075ED23C43` FOREIGN KEY (`track_id`) REFERENCES `station_media` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_schedules`
--

DROP TABLE IF EXISTS `station_schedules`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_schedules` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `playlist_id` int(11) DEFAULT NULL,
  `streamer_id` int(11) DEFAULT NULL,
  `start_time` smallint(6) NOT NULL,
  `end_time` smallint(6) NOT NULL,
  `start_date` varchar(10) DEFAULT NULL,
  `end_date` varchar(10) DEFAULT NULL,
  `days` varchar(50) DEFAULT NULL,
  `loop_once` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_B3BFB2956BBD148` (`playlist_id`),
  KEY `IDX_B3BFB29525F432AD` (`streamer_id`),
  CONSTRAINT `FK_B3BFB29525F432AD` FOREIGN KEY (`streamer_id`) REFERENCES `station_streamers` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_B3BFB2956BBD148` FOREIGN KEY (`playlist_id`) REFERENCES `station_playlists` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_streamer_broadcasts`
--

DROP TABLE IF EXISTS `station_streamer_broadcasts`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_streamer_broadcasts` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `streamer_id` int(11) NOT NULL,
  `timestamp_start` int(11) NOT NULL,
  `timestamp_end` int(11) NOT NULL,
  `recording_path` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_76169D6621BDB235` (`station_id`),
  KEY `IDX_76169D6625F432AD` (`streamer_id`),
  CONSTRAINT `FK_76169D6621BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_76169D6625F432AD` FOREIGN KEY (`streamer_id`) REFERENCES `station_streamers` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_streamers`
--

DROP TABLE IF EXISTS `station_streamers`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_streamers` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `streamer_username` varchar(50) NOT NULL,
  `streamer_password` varchar(255) NOT NULL,
  `comments` longtext DEFAULT NULL,
  `is_active` tinyint(1) NOT NULL,
  `display_name` varchar(255) NOT NULL,
  `reactivate_at` int(11) DEFAULT NULL,
  `enforce_schedule` tinyint(1) NOT NULL,
  `art_updated_at` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `username_unique_idx` (`station_id`,`streamer_username`),
  KEY `IDX_5170063E21BDB235` (`station_id`),
  CONSTRAINT `FK_5170063E21BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `station_webhooks`
--

DROP TABLE IF EXISTS `station_webhooks`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `station_webhooks` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `station_id` int(11) NOT NULL,
  `type` varchar(100) NOT NULL,
  `is_enabled` tinyint(1) NOT NULL,
  `triggers` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`triggers`)),
  `config` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`config`)),
  `name` varchar(100) DEFAULT NULL,
  `metadata` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`metadata`)),
  PRIMARY KEY (`id`),
  KEY `IDX_1516958B21BDB235` (`station_id`),
  CONSTRAINT `FK_1516958B21BDB235` FOREIGN KEY (`station_id`) REFERENCES `station` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `storage_location`
--

DROP TABLE IF EXISTS `storage_location`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `storage_location` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `type` varchar(50) NOT NULL,
  `adapter` varchar(50) NOT NULL,
  `path` varchar(255) NOT NULL,
  `s3_credential_key` varchar(255) DEFAULT NULL,
  `s3_credential_secret` varchar(255) DEFAULT NULL,
  `s3_region` varchar(150) DEFAULT NULL,
  `s3_version` varchar(150) DEFAULT NULL,
  `s3_bucket` varchar(255) DEFAULT NULL,
  `s3_endpoint` varchar(255) DEFAULT NULL,
  `storage_quota` bigint(20) DEFAULT NULL,
  `storage_used` bigint(20) DEFAULT NULL,
  `dropbox_auth_token` varchar(255) DEFAULT NULL,
  `sftp_host` varchar(255) DEFAULT NULL,
  `sftp_username` varchar(255) DEFAULT NULL,
  `sftp_password` varchar(255) DEFAULT NULL,
  `sftp_port` int(11) DEFAULT NULL,
  `sftp_private_key` longtext DEFAULT NULL,
  `sftp_private_key_pass_phrase` varchar(255) DEFAULT NULL,
  `dropbox_app_key` varchar(50) DEFAULT NULL,
  `dropbox_app_secret` varchar(150) DEFAULT NULL,
  `dropbox_refresh_token` varchar(255) DEFAULT NULL,
  `s3_use_path_style` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `unprocessable_media`
--

DROP TABLE IF EXISTS `unprocessable_media`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `unprocessable_media` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `storage_location_id` int(11) NOT NULL,
  `path` varchar(500) NOT NULL,
  `mtime` int(11) NOT NULL,
  `error` longtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `path_unique_idx` (`path`,`storage_location_id`),
  KEY `IDX_DCB6B9EDCDDD8AF` (`storage_location_id`),
  CONSTRAINT `FK_DCB6B9EDCDDD8AF` FOREIGN KEY (`storage_location_id`) REFERENCES `storage_location` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `user_has_role`
--

DROP TABLE IF EXISTS `user_has_role`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `user_has_role` (
  `user_id` int(11) NOT NULL,
  `role_id` int(11) NOT NULL,
  PRIMARY KEY (`user_id`,`role_id`),
  KEY `IDX_EAB8B535A76ED395` (`user_id`),
  KEY `IDX_EAB8B535D60322AC` (`role_id`),
  CONSTRAINT `FK_EAB8B535A76ED395` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE,
  CONSTRAINT `FK_EAB8B535D60322AC` FOREIGN KEY (`role_id`) REFERENCES `role` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `user_login_tokens`
--

DROP TABLE IF EXISTS `user_login_tokens`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `user_login_tokens` (
  `id` varchar(16) NOT NULL,
  `user_id` int(11) NOT NULL,
  `created_at` int(11) NOT NULL,
  `verifier` varchar(128) NOT NULL,
  `type` varchar(50) NOT NULL,
  `comment` varchar(255) DEFAULT NULL,
  `expires_at` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_DDF24A16A76ED395` (`user_id`),
  CONSTRAINT `FK_DDF24A16A76ED395` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `user_passkeys`
--

DROP TABLE IF EXISTS `user_passkeys`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `user_passkeys` (
  `id` varchar(64) NOT NULL,
  `user_id` int(11) NOT NULL,
  `created_at` int(11) NOT NULL,
  `name` varchar(255) NOT NULL,
  `full_id` longtext NOT NULL,
  `public_key_pem` longtext NOT NULL,
  PRIMARY KEY (`id`),
  KEY `IDX_A2309328A76ED395` (`user_id`),
  CONSTRAINT `FK_A2309328A76ED395` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Table structure for table `users`
--

DROP TABLE IF EXISTS `users`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `users` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `email` varchar(100) NOT NULL,
  `auth_password` varchar(255) NOT NULL,
  `name` varchar(100) DEFAULT NULL,
  `locale` varchar(25) DEFAULT NULL,
  `created_at` int(11) NOT NULL,
  `updated_at` int(11) NOT NULL,
  `two_factor_secret` varchar(255) DEFAULT NULL,
  `show_24_hour_time` tinyint(1) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `email_idx` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed
