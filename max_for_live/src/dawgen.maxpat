{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 6,
			"revision": 4,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			100.0,
			100.0,
			2300.0,
			640.0
		],
		"openrect": [
			0.0,
			0.0,
			1000.0,
			169.0
		],
		"bglocked": 0,
		"openinpresentation": 1,
		"default_fontsize": 10.0,
		"default_fontface": 0,
		"default_fontname": "Arial Bold",
		"gridonopen": 1,
		"gridsize": [
			8.0,
			8.0
		],
		"gridsnaponopen": 1,
		"objectsnaponopen": 1,
		"statusbarvisible": 2,
		"toolbarvisible": 1,
		"lefttoolbarpinned": 0,
		"toptoolbarpinned": 0,
		"righttoolbarpinned": 0,
		"bottomtoolbarpinned": 0,
		"toolbars_unpinned_last_save": 0,
		"tallnewobj": 0,
		"boxanimatetime": 500,
		"enablehscroll": 1,
		"enablevscroll": 1,
		"devicewidth": 1000.0,
		"description": "dawgen: generate, vary, continue, split and write MIDI through the local dawgen daemon",
		"digest": "",
		"tags": "",
		"style": "",
		"subpatcher_template": "",
		"assistshowspatchername": 0,
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "newobj",
					"text": "live.thisdevice",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						20.0,
						20.0,
						90.0,
						22.0
					],
					"outlettype": [
						"bang",
						"int",
						"int"
					]
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "message",
					"text": "init",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						20.0,
						52.0,
						32.0,
						22.0
					]
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "newobj",
					"text": "js dawgen.js",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						20.0,
						330.0,
						300.0,
						22.0
					],
					"outlettype": [
						"",
						"",
						"",
						""
					],
					"saved_object_attributes": {
						"filename": "dawgen.js",
						"parameter_enable": 0
					},
					"varname": "dawgen_js"
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"text": "udpsend 127.0.0.1 9950",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						400.0,
						140.0,
						22.0
					]
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "newobj",
					"text": "udpreceive 9951 @defer 1",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						170.0,
						400.0,
						150.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "newobj",
					"text": "route status detail progress lastseed model prompt folder host store mode bars seed count strength port replyport place lora1 lora2 lora1strength lora2strength dataset trainkind trainsteps trainbase trainstatus token project catalog cataloginfo pullprogress pullstatus lan dawgenpath",
					"numinlets": 2,
					"numoutlets": 35,
					"patching_rect": [
						20.0,
						440.0,
						1200.0,
						22.0
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "newobj",
					"text": "pattr dawgen_settings",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						""
					],
					"patching_rect": [
						600.0,
						500.0,
						130.0,
						22.0
					],
					"varname": "dawgen_settings",
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_invisible": 1,
							"parameter_longname": "dawgen_settings",
							"parameter_shortname": "dawgen_settings",
							"parameter_type": 3
						}
					},
					"saved_object_attributes": {
						"parameter_enable": 1,
						"parameter_mappable": 0
					}
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "newobj",
					"text": "prepend restore",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						600.0,
						530.0,
						95.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "newobj",
					"text": "plugin~",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						880.0,
						20.0,
						51.0,
						22.0
					],
					"outlettype": [
						"signal",
						"signal"
					]
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "newobj",
					"text": "plugout~",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						880.0,
						80.0,
						51.0,
						22.0
					],
					"outlettype": [
						"signal",
						"signal"
					]
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 2,
					"patching_rect": [
						20.0,
						110.0,
						220.0,
						36.0
					],
					"varname": "prompt",
					"text": "",
					"hint": "prompt: what to make (e.g. punchy kick, dark 808, lofi drum loop)",
					"presentation": 1,
					"presentation_rect": [
						4.0,
						4.0,
						222.0,
						34.0
					]
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "newobj",
					"text": "prepend prompt",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						20.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						120.0,
						160.0,
						86.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Mode",
							"parameter_shortname": "Mode",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"one-shot",
								"loop",
								"continue clip",
								"vary clip",
								"stems of clip",
								"MIDI drums",
								"MIDI melody",
								"MIDI chords",
								"MIDI bass",
								"MIDI piano",
								"MIDI trio",
								"bass for clip",
								"harmonize clip",
								"4 voices for clip",
								"melody over clip"
							],
							"parameter_mmax": 14,
							"parameter_initial": [
								0
							],
							"parameter_initial_enable": 1
						}
					},
					"varname": "Mode",
					"presentation": 1,
					"presentation_rect": [
						38.0,
						42.0,
						86.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "newobj",
					"text": "prepend mode",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						120.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"items": [
						"default"
					],
					"patching_rect": [
						220.0,
						160.0,
						100.0,
						19.0
					],
					"varname": "model",
					"presentation": 1,
					"presentation_rect": [
						162.0,
						40.0,
						64.0,
						19.0
					]
				}
			},
			{
				"box": {
					"id": "obj-25",
					"maxclass": "newobj",
					"text": "prepend model",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						220.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						330.0,
						160.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Bars",
							"parameter_shortname": "Bars",
							"parameter_type": 1,
							"parameter_modmode": 0,
							"parameter_mmin": 1,
							"parameter_mmax": 64,
							"parameter_initial": [
								4
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 0
						}
					},
					"varname": "Bars",
					"presentation": 1,
					"presentation_rect": [
						32.0,
						60.0,
						34.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "newobj",
					"text": "prepend bars",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						330.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						440.0,
						160.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Count",
							"parameter_shortname": "Count",
							"parameter_type": 1,
							"parameter_modmode": 0,
							"parameter_mmin": 1,
							"parameter_mmax": 64,
							"parameter_initial": [
								1
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 0
						}
					},
					"varname": "Count",
					"presentation": 1,
					"presentation_rect": [
						98.0,
						60.0,
						28.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "newobj",
					"text": "prepend count",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						440.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						550.0,
						160.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Strength",
							"parameter_shortname": "Strength",
							"parameter_type": 0,
							"parameter_modmode": 0,
							"parameter_mmin": 0.0,
							"parameter_mmax": 1.0,
							"parameter_initial": [
								0.5
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 1
						}
					},
					"varname": "Strength",
					"presentation": 1,
					"presentation_rect": [
						180.0,
						60.0,
						46.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-31",
					"maxclass": "newobj",
					"text": "prepend strength",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						550.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						660.0,
						160.0,
						60.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Seed",
							"parameter_shortname": "Seed",
							"parameter_type": 1,
							"parameter_modmode": 0,
							"parameter_mmin": -1,
							"parameter_mmax": 16777215,
							"parameter_initial": [
								-1
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 0
						}
					},
					"varname": "Seed",
					"presentation": 1,
					"presentation_rect": [
						32.0,
						78.0,
						62.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "newobj",
					"text": "prepend seed",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						660.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						770.0,
						160.0,
						34.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Dice",
							"parameter_shortname": "Dice",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Dice",
					"presentation": 1,
					"presentation_rect": [
						98.0,
						78.0,
						40.0,
						15.0
					],
					"mode": 0,
					"text": "dice",
					"texton": "dice"
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "newobj",
					"text": "prepend dice",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						770.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						880.0,
						160.0,
						34.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Keep Seed",
							"parameter_shortname": "Keep",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Keep Seed",
					"presentation": 1,
					"presentation_rect": [
						142.0,
						78.0,
						40.0,
						15.0
					],
					"mode": 0,
					"text": "keep",
					"texton": "keep"
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "newobj",
					"text": "prepend keep",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						880.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						1550.0,
						160.0,
						80.0,
						20.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Generate",
							"parameter_shortname": "Generate",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Generate",
					"presentation": 1,
					"presentation_rect": [
						4.0,
						96.0,
						86.0,
						20.0
					],
					"mode": 0,
					"text": "Generate",
					"texton": "Generate"
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1550.0,
						200.0,
						40.0,
						22.0
					],
					"outlettype": [
						"bang",
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "newobj",
					"text": "t b b",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						1550.0,
						230.0,
						40.0,
						22.0
					],
					"outlettype": [
						"bang",
						"bang"
					]
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "message",
					"text": "generate",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1550.0,
						262.0,
						60.0,
						22.0
					]
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						1660.0,
						160.0,
						60.0,
						20.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Cancel",
							"parameter_shortname": "Cancel",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Cancel",
					"presentation": 1,
					"presentation_rect": [
						94.0,
						96.0,
						60.0,
						20.0
					],
					"mode": 0,
					"text": "Cancel",
					"texton": "Cancel"
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "newobj",
					"text": "prepend cancel",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1660.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 1,
					"patching_rect": [
						990.0,
						160.0,
						90.0,
						17.0
					],
					"varname": "host",
					"text": "127.0.0.1",
					"hint": "host of the dawgen daemon",
					"presentation": 1,
					"presentation_rect": [
						262.0,
						4.0,
						92.0,
						17.0
					]
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "newobj",
					"text": "prepend host",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						990.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-46",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						1090.0,
						160.0,
						44.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Port",
							"parameter_shortname": "Port",
							"parameter_type": 1,
							"parameter_modmode": 0,
							"parameter_mmin": 1,
							"parameter_mmax": 65535,
							"parameter_initial": [
								9950
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 0
						}
					},
					"varname": "Port",
					"presentation": 1,
					"presentation_rect": [
						384.0,
						4.0,
						44.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-47",
					"maxclass": "newobj",
					"text": "prepend port",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1090.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-48",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						1200.0,
						160.0,
						44.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Reply Port",
							"parameter_shortname": "Reply",
							"parameter_type": 1,
							"parameter_modmode": 0,
							"parameter_mmin": 0,
							"parameter_mmax": 65535,
							"parameter_initial": [
								0
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 0
						}
					},
					"varname": "Reply Port",
					"presentation": 1,
					"presentation_rect": [
						290.0,
						24.0,
						44.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-49",
					"maxclass": "newobj",
					"text": "prepend replyport",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1200.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-54",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						1770.0,
						160.0,
						50.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Reconnect",
							"parameter_shortname": "Reconnect",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Reconnect",
					"presentation": 1,
					"presentation_rect": [
						430.0,
						4.0,
						38.0,
						15.0
					],
					"mode": 0,
					"text": "connect",
					"texton": "connect"
				}
			},
			{
				"box": {
					"id": "obj-55",
					"maxclass": "newobj",
					"text": "prepend refresh",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1770.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 1,
					"patching_rect": [
						1310.0,
						160.0,
						120.0,
						17.0
					],
					"varname": "folder",
					"text": "",
					"hint": "subfolder of the daemon's output folder (empty: dawgen/<date>)",
					"presentation": 1,
					"presentation_rect": [
						266.0,
						44.0,
						162.0,
						17.0
					]
				}
			},
			{
				"box": {
					"id": "obj-51",
					"maxclass": "newobj",
					"text": "prepend folder",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1310.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-52",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						1440.0,
						160.0,
						86.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Place",
							"parameter_shortname": "Place",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"auto",
								"session",
								"arrangement",
								"off"
							],
							"parameter_mmax": 3
						}
					},
					"varname": "Place",
					"presentation": 1,
					"presentation_rect": [
						266.0,
						64.0,
						90.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-53",
					"maxclass": "newobj",
					"text": "prepend place",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1440.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-90",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"items": [
						"none"
					],
					"patching_rect": [
						1850.0,
						160.0,
						120.0,
						19.0
					],
					"varname": "lora1",
					"presentation": 1,
					"presentation_rect": [
						474.0,
						20.0,
						120.0,
						19.0
					]
				}
			},
			{
				"box": {
					"id": "obj-91",
					"maxclass": "newobj",
					"text": "prepend lora1",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1850.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-92",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"items": [
						"none"
					],
					"patching_rect": [
						1980.0,
						160.0,
						120.0,
						19.0
					],
					"varname": "lora2",
					"presentation": 1,
					"presentation_rect": [
						474.0,
						60.0,
						120.0,
						19.0
					]
				}
			},
			{
				"box": {
					"id": "obj-93",
					"maxclass": "newobj",
					"text": "prepend lora2",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1980.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-94",
					"maxclass": "live.dial",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						2110.0,
						160.0,
						44.0,
						48.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Adapter 1 Strength",
							"parameter_shortname": "strength",
							"parameter_type": 0,
							"parameter_modmode": 0,
							"parameter_mmin": -2.0,
							"parameter_mmax": 2.0,
							"parameter_initial": [
								1.0
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 1
						}
					},
					"varname": "Adapter 1 Strength",
					"presentation": 1,
					"presentation_rect": [
						474.0,
						82.0,
						56.0,
						44.0
					]
				}
			},
			{
				"box": {
					"id": "obj-95",
					"maxclass": "newobj",
					"text": "prepend lora1strength",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2110.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-96",
					"maxclass": "live.dial",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						2170.0,
						160.0,
						44.0,
						48.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Adapter 2 Strength",
							"parameter_shortname": "strength",
							"parameter_type": 0,
							"parameter_modmode": 0,
							"parameter_mmin": -2.0,
							"parameter_mmax": 2.0,
							"parameter_initial": [
								1.0
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 1
						}
					},
					"varname": "Adapter 2 Strength",
					"presentation": 1,
					"presentation_rect": [
						538.0,
						82.0,
						56.0,
						44.0
					]
				}
			},
			{
				"box": {
					"id": "obj-97",
					"maxclass": "newobj",
					"text": "prepend lora2strength",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2170.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-98",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1010.0,
						560.0,
						80.0,
						15.0
					],
					"text": "adapter 1",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						474.0,
						4.0,
						80.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-99",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1100.0,
						560.0,
						80.0,
						15.0
					],
					"text": "adapter 2",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						474.0,
						42.0,
						80.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-60",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						480.0,
						300.0,
						33.0
					],
					"linecount": 2,
					"text": "dawgen: starting\u2026",
					"varname": "status",
					"presentation": 1,
					"presentation_rect": [
						4.0,
						128.0,
						460.0,
						38.0
					]
				}
			},
			{
				"box": {
					"id": "obj-61",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						330.0,
						480.0,
						200.0,
						33.0
					],
					"linecount": 2,
					"text": "",
					"varname": "detail",
					"presentation": 1,
					"presentation_rect": [
						232.0,
						84.0,
						234.0,
						40.0
					]
				}
			},
			{
				"box": {
					"id": "obj-62",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"parameter_enable": 0,
					"orientation": 1,
					"size": 101.0,
					"ignoreclick": 1,
					"patching_rect": [
						540.0,
						480.0,
						100.0,
						12.0
					],
					"varname": "progress",
					"presentation": 1,
					"presentation_rect": [
						4.0,
						118.0,
						222.0,
						8.0
					]
				}
			},
			{
				"box": {
					"id": "obj-63",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						650.0,
						480.0,
						120.0,
						18.0
					],
					"text": "last seed \u2013",
					"varname": "lastseed",
					"presentation": 1,
					"presentation_rect": [
						158.0,
						98.0,
						70.0,
						18.0
					]
				}
			},
			{
				"box": {
					"id": "obj-70",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						20.0,
						560.0,
						80.0,
						15.0
					],
					"text": "mode",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						4.0,
						42.0,
						34.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-71",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						110.0,
						560.0,
						80.0,
						15.0
					],
					"text": "model",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						128.0,
						42.0,
						34.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-72",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						200.0,
						560.0,
						80.0,
						15.0
					],
					"text": "bars",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						4.0,
						60.0,
						28.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-73",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						290.0,
						560.0,
						80.0,
						15.0
					],
					"text": "count",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						70.0,
						60.0,
						28.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-74",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						380.0,
						560.0,
						80.0,
						15.0
					],
					"text": "strength",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						130.0,
						60.0,
						48.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-75",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						470.0,
						560.0,
						80.0,
						15.0
					],
					"text": "seed",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						4.0,
						78.0,
						28.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-76",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						560.0,
						560.0,
						80.0,
						15.0
					],
					"text": "host",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						232.0,
						4.0,
						30.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-77",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						650.0,
						560.0,
						80.0,
						15.0
					],
					"text": "port",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						358.0,
						4.0,
						26.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-78",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						740.0,
						560.0,
						80.0,
						15.0
					],
					"text": "reply",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						232.0,
						24.0,
						58.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-79",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						830.0,
						560.0,
						80.0,
						15.0
					],
					"text": "folder",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						232.0,
						44.0,
						34.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-80",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						920.0,
						560.0,
						80.0,
						15.0
					],
					"text": "place",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						232.0,
						64.0,
						34.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-100",
					"maxclass": "live.comment",
					"text": "train",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1700.0,
						120.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						604.0,
						4.0,
						40.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-101",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 1,
					"patching_rect": [
						1700.0,
						160.0,
						160.0,
						17.0
					],
					"varname": "dataset",
					"text": "",
					"hint": "dataset folder: an existing folder (absolute path); its name names the model",
					"presentation": 1,
					"presentation_rect": [
						644.0,
						4.0,
						150.0,
						17.0
					]
				}
			},
			{
				"box": {
					"id": "obj-102",
					"maxclass": "newobj",
					"text": "prepend dataset",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1700.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-103",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						1880.0,
						200.0,
						60.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Add Clip",
							"parameter_shortname": "Add Clip",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Add Clip",
					"presentation": 1,
					"presentation_rect": [
						604.0,
						24.0,
						60.0,
						15.0
					],
					"mode": 0,
					"text": "add clip",
					"texton": "add clip"
				}
			},
			{
				"box": {
					"id": "obj-104",
					"maxclass": "newobj",
					"text": "prepend addclip",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1880.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-105",
					"maxclass": "live.menu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"",
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						1960.0,
						200.0,
						120.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Train Kind",
							"parameter_shortname": "Kind",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"stable-audio-lora",
								"stable-audio",
								"dance-diffusion",
								"dance-diffusion-lora",
								"musicgen-lora",
								"musicgen"
							],
							"parameter_mmax": 5,
							"parameter_initial": [
								0
							],
							"parameter_initial_enable": 1
						}
					},
					"varname": "Train Kind",
					"presentation": 1,
					"presentation_rect": [
						668.0,
						24.0,
						126.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-106",
					"maxclass": "newobj",
					"text": "prepend trainkind",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1960.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-107",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"items": [
						"(no base)"
					],
					"patching_rect": [
						2100.0,
						200.0,
						120.0,
						19.0
					],
					"varname": "trainbase",
					"presentation": 1,
					"presentation_rect": [
						644.0,
						42.0,
						150.0,
						19.0
					]
				}
			},
			{
				"box": {
					"id": "obj-108",
					"maxclass": "live.comment",
					"text": "base",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						2100.0,
						120.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						604.0,
						44.0,
						40.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-109",
					"maxclass": "newobj",
					"text": "prepend trainbase",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2100.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-110",
					"maxclass": "live.numbox",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						"float"
					],
					"parameter_enable": 1,
					"patching_rect": [
						2240.0,
						200.0,
						60.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Train Steps",
							"parameter_shortname": "Steps",
							"parameter_type": 1,
							"parameter_modmode": 0,
							"parameter_mmin": 1,
							"parameter_mmax": 100000,
							"parameter_initial": [
								1000
							],
							"parameter_initial_enable": 1,
							"parameter_unitstyle": 0
						}
					},
					"varname": "Train Steps",
					"presentation": 1,
					"presentation_rect": [
						644.0,
						64.0,
						60.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-111",
					"maxclass": "live.comment",
					"text": "steps",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						2240.0,
						120.0,
						40.0,
						15.0
					],
					"presentation": 1,
					"presentation_rect": [
						604.0,
						64.0,
						40.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-112",
					"maxclass": "newobj",
					"text": "prepend trainsteps",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2240.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-113",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						2320.0,
						200.0,
						60.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Train",
							"parameter_shortname": "Train",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Train",
					"presentation": 1,
					"presentation_rect": [
						708.0,
						62.0,
						86.0,
						18.0
					],
					"mode": 0,
					"text": "Train",
					"texton": "Train"
				}
			},
			{
				"box": {
					"id": "obj-114",
					"maxclass": "newobj",
					"text": "prepend train",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2320.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-115",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1700.0,
						480.0,
						200.0,
						60.0
					],
					"linecount": 4,
					"text": "pick a dataset folder, select a clip, add it",
					"varname": "trainstatus",
					"presentation": 1,
					"presentation_rect": [
						604.0,
						84.0,
						190.0,
						80.0
					]
				}
			},
			{
				"box": {
					"id": "obj-119",
					"maxclass": "newobj",
					"text": "node.script dawgen_net.js @autostart 1 @watch 0",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"patching_rect": [
						340.0,
						400.0,
						260.0,
						22.0
					],
					"saved_object_attributes": {
						"autostart": 1,
						"defer": 0,
						"watch": 0
					},
					"varname": "dawgen_net"
				}
			},
			{
				"box": {
					"id": "obj-120",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1200.0,
						560.0,
						60.0,
						15.0
					],
					"text": "token",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						338.0,
						24.0,
						32.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-121",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 1,
					"patching_rect": [
						2400.0,
						160.0,
						100.0,
						17.0
					],
					"varname": "token",
					"text": "",
					"hint": "your client token for a dawgen on another computer (dawgen token add); shown masked once set",
					"presentation": 1,
					"presentation_rect": [
						370.0,
						24.0,
						98.0,
						17.0
					]
				}
			},
			{
				"box": {
					"id": "obj-122",
					"maxclass": "newobj",
					"text": "prepend token",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2400.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-130",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						2520.0,
						120.0,
						40.0,
						15.0
					],
					"text": "models",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						804.0,
						4.0,
						40.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-131",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"items": [
						"get a model\u2026"
					],
					"patching_rect": [
						2520.0,
						160.0,
						150.0,
						19.0
					],
					"varname": "catalog",
					"hint": "models dawgen can download (/dawgen/catalog): name \u00b7 size \u00b7 licence \u00b7 installed",
					"presentation": 1,
					"presentation_rect": [
						844.0,
						2.0,
						152.0,
						19.0
					]
				}
			},
			{
				"box": {
					"id": "obj-132",
					"maxclass": "newobj",
					"text": "prepend catalogpick",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2520.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-133",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						2520.0,
						480.0,
						190.0,
						30.0
					],
					"linecount": 2,
					"text": "",
					"varname": "cataloginfo",
					"presentation": 1,
					"presentation_rect": [
						804.0,
						22.0,
						192.0,
						30.0
					]
				}
			},
			{
				"box": {
					"id": "obj-134",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						2680.0,
						200.0,
						50.0,
						18.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Get Model",
							"parameter_shortname": "Get",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Get Model",
					"presentation": 1,
					"presentation_rect": [
						804.0,
						54.0,
						50.0,
						18.0
					],
					"mode": 0,
					"text": "Get",
					"texton": "Get",
					"hint": "download the chosen model into the daemon (/dawgen/pull); press again to stop"
				}
			},
			{
				"box": {
					"id": "obj-135",
					"maxclass": "newobj",
					"text": "prepend getmodel",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2680.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-136",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"parameter_enable": 0,
					"orientation": 1,
					"size": 101.0,
					"ignoreclick": 1,
					"patching_rect": [
						2740.0,
						480.0,
						100.0,
						12.0
					],
					"varname": "pullprogress",
					"presentation": 1,
					"presentation_rect": [
						860.0,
						59.0,
						136.0,
						8.0
					]
				}
			},
			{
				"box": {
					"id": "obj-137",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						2740.0,
						520.0,
						190.0,
						50.0
					],
					"linecount": 4,
					"text": "",
					"varname": "pullstatus",
					"presentation": 1,
					"presentation_rect": [
						804.0,
						76.0,
						192.0,
						54.0
					]
				}
			},
			{
				"box": {
					"id": "obj-138",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						2860.0,
						120.0,
						40.0,
						15.0
					],
					"text": "project",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						804.0,
						134.0,
						40.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-139",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 1,
					"patching_rect": [
						2860.0,
						160.0,
						150.0,
						17.0
					],
					"varname": "project",
					"text": "",
					"hint": "your Live project folder (absolute path): results of a dawgen on another computer are downloaded into its Samples/dawgen",
					"presentation": 1,
					"presentation_rect": [
						844.0,
						134.0,
						152.0,
						17.0
					]
				}
			},
			{
				"box": {
					"id": "obj-140",
					"maxclass": "newobj",
					"text": "prepend project",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						2860.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-150",
					"maxclass": "live.text",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": [
						"",
						""
					],
					"parameter_enable": 1,
					"patching_rect": [
						3000.0,
						160.0,
						40.0,
						15.0
					],
					"saved_attribute_attributes": {
						"valueof": {
							"parameter_longname": "Find Daemons",
							"parameter_shortname": "Find",
							"parameter_type": 2,
							"parameter_modmode": 0,
							"parameter_enum": [
								"off",
								"on"
							],
							"parameter_mmax": 1
						}
					},
					"varname": "Find Daemons",
					"presentation": 1,
					"presentation_rect": [
						430.0,
						44.0,
						38.0,
						15.0
					],
					"mode": 0,
					"text": "find",
					"texton": "find",
					"hint": "look for dawgen daemons on the LAN (runs dawgen discover); then pick one in the menu below"
				}
			},
			{
				"box": {
					"id": "obj-151",
					"maxclass": "newobj",
					"text": "prepend finddaemons",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						3000.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-152",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": [
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"items": [
						"daemons on the LAN\u2026"
					],
					"patching_rect": [
						3060.0,
						160.0,
						110.0,
						19.0
					],
					"varname": "lan",
					"hint": "the dawgen daemons found on the LAN (press find): name \u00b7 host:port \u00b7 token; picking one sets host and port",
					"presentation": 1,
					"presentation_rect": [
						358.0,
						62.0,
						110.0,
						19.0
					]
				}
			},
			{
				"box": {
					"id": "obj-153",
					"maxclass": "newobj",
					"text": "prepend lanpick",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						3060.0,
						260.0,
						90.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			},
			{
				"box": {
					"id": "obj-154",
					"maxclass": "live.comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						3180.0,
						120.0,
						40.0,
						15.0
					],
					"text": "dawgen",
					"textjustification": 0,
					"presentation": 1,
					"presentation_rect": [
						804.0,
						152.0,
						40.0,
						15.0
					]
				}
			},
			{
				"box": {
					"id": "obj-155",
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": [
						"",
						"int",
						"",
						""
					],
					"parameter_enable": 0,
					"keymode": 1,
					"outputmode": 1,
					"lines": 1,
					"patching_rect": [
						3180.0,
						160.0,
						150.0,
						17.0
					],
					"varname": "dawgenpath",
					"text": "",
					"hint": "the dawgen program that find runs (full path); empty: looked for on PATH, ~/.local/bin, /opt/homebrew/bin, /usr/local/bin",
					"presentation": 1,
					"presentation_rect": [
						844.0,
						152.0,
						152.0,
						17.0
					]
				}
			},
			{
				"box": {
					"id": "obj-156",
					"maxclass": "newobj",
					"text": "prepend dawgenpath",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						3180.0,
						260.0,
						110.0,
						22.0
					],
					"outlettype": [
						""
					]
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"source": [
						"obj-1",
						0
					],
					"destination": [
						"obj-2",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-2",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						0
					],
					"destination": [
						"obj-4",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						1
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						2
					],
					"destination": [
						"obj-6",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-5",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-7",
						0
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-8",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-9",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-9",
						1
					],
					"destination": [
						"obj-10",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-20",
						0
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-21",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-22",
						0
					],
					"destination": [
						"obj-23",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-24",
						0
					],
					"destination": [
						"obj-25",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-25",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-26",
						0
					],
					"destination": [
						"obj-27",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-27",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						0
					],
					"destination": [
						"obj-29",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-29",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-30",
						0
					],
					"destination": [
						"obj-31",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-31",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-32",
						0
					],
					"destination": [
						"obj-33",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-33",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-34",
						0
					],
					"destination": [
						"obj-35",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-35",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-36",
						0
					],
					"destination": [
						"obj-37",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-38",
						0
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-39",
						1
					],
					"destination": [
						"obj-40",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						1
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						1
					],
					"destination": [
						"obj-50",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						0
					],
					"destination": [
						"obj-41",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-42",
						0
					],
					"destination": [
						"obj-43",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-43",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-44",
						0
					],
					"destination": [
						"obj-45",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-45",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-46",
						0
					],
					"destination": [
						"obj-47",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						0
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-49",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-54",
						0
					],
					"destination": [
						"obj-55",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-55",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-50",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-51",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						0
					],
					"destination": [
						"obj-53",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						0
					],
					"destination": [
						"obj-60",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						1
					],
					"destination": [
						"obj-61",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						2
					],
					"destination": [
						"obj-62",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						3
					],
					"destination": [
						"obj-63",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						4
					],
					"destination": [
						"obj-24",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						5
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						6
					],
					"destination": [
						"obj-50",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						7
					],
					"destination": [
						"obj-44",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						8
					],
					"destination": [
						"obj-7",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						9
					],
					"destination": [
						"obj-22",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						10
					],
					"destination": [
						"obj-26",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						11
					],
					"destination": [
						"obj-32",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						12
					],
					"destination": [
						"obj-28",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						13
					],
					"destination": [
						"obj-30",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						14
					],
					"destination": [
						"obj-46",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						15
					],
					"destination": [
						"obj-48",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						16
					],
					"destination": [
						"obj-52",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-90",
						0
					],
					"destination": [
						"obj-91",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-91",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-92",
						0
					],
					"destination": [
						"obj-93",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-93",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-94",
						0
					],
					"destination": [
						"obj-95",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-95",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-96",
						0
					],
					"destination": [
						"obj-97",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-97",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						17
					],
					"destination": [
						"obj-90",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						18
					],
					"destination": [
						"obj-92",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						19
					],
					"destination": [
						"obj-94",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						20
					],
					"destination": [
						"obj-96",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-101",
						0
					],
					"destination": [
						"obj-102",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-102",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-103",
						0
					],
					"destination": [
						"obj-104",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-104",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-105",
						0
					],
					"destination": [
						"obj-106",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-106",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-107",
						0
					],
					"destination": [
						"obj-109",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-109",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-110",
						0
					],
					"destination": [
						"obj-112",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-112",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-113",
						0
					],
					"destination": [
						"obj-114",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-114",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						21
					],
					"destination": [
						"obj-101",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						22
					],
					"destination": [
						"obj-105",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						23
					],
					"destination": [
						"obj-110",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						24
					],
					"destination": [
						"obj-107",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						25
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						3
					],
					"destination": [
						"obj-119",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-119",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-121",
						0
					],
					"destination": [
						"obj-122",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-122",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-131",
						0
					],
					"destination": [
						"obj-132",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-132",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-134",
						0
					],
					"destination": [
						"obj-135",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-135",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-139",
						0
					],
					"destination": [
						"obj-140",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-140",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						26
					],
					"destination": [
						"obj-121",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						27
					],
					"destination": [
						"obj-139",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						28
					],
					"destination": [
						"obj-131",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						29
					],
					"destination": [
						"obj-133",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						30
					],
					"destination": [
						"obj-136",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						31
					],
					"destination": [
						"obj-137",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-150",
						0
					],
					"destination": [
						"obj-151",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-151",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-152",
						0
					],
					"destination": [
						"obj-153",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-153",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-155",
						0
					],
					"destination": [
						"obj-156",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-156",
						0
					],
					"destination": [
						"obj-3",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						32
					],
					"destination": [
						"obj-152",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-6",
						33
					],
					"destination": [
						"obj-155",
						0
					]
				}
			}
		],
		"parameters": {
			"obj-7": [
				"dawgen_settings",
				"dawgen_settings",
				0
			],
			"obj-22": [
				"Mode",
				"Mode",
				0
			],
			"obj-26": [
				"Bars",
				"Bars",
				0
			],
			"obj-28": [
				"Count",
				"Count",
				0
			],
			"obj-30": [
				"Strength",
				"Strength",
				0
			],
			"obj-32": [
				"Seed",
				"Seed",
				0
			],
			"obj-34": [
				"Dice",
				"Dice",
				0
			],
			"obj-36": [
				"Keep Seed",
				"Keep",
				0
			],
			"obj-38": [
				"Generate",
				"Generate",
				0
			],
			"obj-42": [
				"Cancel",
				"Cancel",
				0
			],
			"obj-46": [
				"Port",
				"Port",
				0
			],
			"obj-48": [
				"Reply Port",
				"Reply",
				0
			],
			"obj-54": [
				"Reconnect",
				"Reconnect",
				0
			],
			"obj-52": [
				"Place",
				"Place",
				0
			],
			"obj-94": [
				"Adapter 1 Strength",
				"strength",
				0
			],
			"obj-96": [
				"Adapter 2 Strength",
				"strength",
				0
			],
			"obj-103": [
				"Add Clip",
				"Add Clip",
				0
			],
			"obj-105": [
				"Train Kind",
				"Kind",
				0
			],
			"obj-110": [
				"Train Steps",
				"Steps",
				0
			],
			"obj-113": [
				"Train",
				"Train",
				0
			],
			"obj-134": [
				"Get Model",
				"Get",
				0
			],
			"obj-150": [
				"Find Daemons",
				"Find",
				0
			],
			"inherited_shortname": 1
		},
		"dependency_cache": [],
		"latency": 0,
		"is_mpe": 0,
		"minimum_live_version": "",
		"minimum_max_version": "",
		"platform_compatibility": 0,
		"project": {
			"version": 1,
			"creationdate": 3590052493,
			"modificationdate": 3590052493,
			"viewrect": [
				0.0,
				0.0,
				300.0,
				500.0
			],
			"autoorganize": 1,
			"hideprojectwindow": 1,
			"showdependencies": 1,
			"autolocalize": 0,
			"contents": {
				"patchers": {}
			},
			"layout": {},
			"searchpath": {},
			"detailsvisible": 0,
			"amxdtype": 1633771873,
			"readonly": 0,
			"devpathtype": 0,
			"devpath": ".",
			"sortmode": 0,
			"viewmode": 0,
			"includepackages": 0
		},
		"autosave": 0
	}
}
