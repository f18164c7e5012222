CREATE TABLE "custom_images" (
	"name" text PRIMARY KEY NOT NULL,
	"language" text NOT NULL,
	"image" text NOT NULL,
	"registered_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"check" jsonb NOT NULL
);
